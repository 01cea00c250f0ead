"""Outgoing mail: a row in `mail_messages` first, then the `jobs.mail` job sends it.

A message is sent at most once: the sender holds the row locked while it talks SMTP and
marks it sent in the same transaction right after the server accepts it; if the database goes
away just then, the mark is written again on a new connection (a retry would send it twice).
Only a worker killed between the server's 250 and that commit leaves it to be sent again.
It is never lost: after the last retry it stays `failed` with its error, for staff to retry
from the console.
"""
import contextlib
import logging
import smtplib
import ssl
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from flask import current_app, render_template
from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select

from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import MailMessage
from oxnack_admin.models.enums import MailState
from oxnack_admin.services.ops import queueing
from oxnack_admin.services.ops.retryable import describe, is_transient

log = logging.getLogger(__name__)

JOB = "jobs.mail.send_message"
# Lines of a template that carry a secret, by template: blanked in the stored body once the
# message is sent or given up on, so the secret does not outlive its delivery.
SECRET_LINES = {"server_ready": "Пароль root: ", "server_reinstalled": "Новый пароль root: ",
                "registration_code": "Ваш код подтверждения регистрации в Oxnack: ",
                "telegram_link_code": "Ваш код для привязки Telegram к аккаунту Oxnack: "}
REDACTED = "[removed after delivery]"
# After SMTP accepted a message, how long to keep trying to record it (a database restart).
SENT_MARK_PAUSES = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)


class MailDeliveryError(Exception):
    """SMTP did not take the message; `retryable` says whether trying later can help."""

    def __init__(self, message: str, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class MailRetryRefused(Exception):
    """The message cannot be queued again (already sent, or unknown)."""


def redact_secrets(message: MailMessage) -> None:
    """Blank the secret lines of a message's stored body (the caller commits)."""
    prefix = SECRET_LINES.get(message.kind)
    if prefix and message.body and prefix in message.body:
        message.body = "\n".join(prefix + REDACTED if line.startswith(prefix) else line
                                 for line in message.body.split("\n"))


def is_redacted(message: MailMessage) -> bool:
    prefix = SECRET_LINES.get(message.kind)
    return bool(prefix) and f"{prefix}{REDACTED}" in (message.body or "")


def render_mail(kind: str, **context) -> tuple[str, str]:
    """(subject, body) from templates/mail/<kind>.txt, whose first line is `Subject: ...`."""
    text = render_template(f"mail/{kind}.txt", **context)
    first_line, _, body = text.partition("\n")
    if not first_line.startswith("Subject: "):
        raise ValueError(f"mail template {kind} must start with a Subject: line")
    return first_line[len("Subject: "):].strip(), body.lstrip("\n")


def retry_policy() -> Retry | None:
    """RQ retries while SMTP is unreachable, from MAIL_RETRY_INTERVALS (seconds)."""
    intervals = [int(seconds) for seconds in current_app.config.get("MAIL_RETRY_INTERVALS") or []]
    return Retry(max=len(intervals), interval=intervals) if intervals else None


def queue_mail(to_email: str, subject: str, body: str, kind: str) -> MailMessage:
    """Record a message and send it once the current transaction commits."""
    message = MailMessage(to_email=to_email, subject=subject, body=body, kind=kind)
    db.session.add(message)
    db.session.flush()
    queueing.enqueue_after_commit(queueing.MAIL, JOB, message.id, retry=retry_policy())
    return message


def queue_templated_mail(to_email: str, kind: str, **context) -> MailMessage:
    subject, body = render_mail(kind, **context)
    return queue_mail(to_email, subject, body, kind)


def deliver(message_id: int, *, job_id: str | None = None, last_attempt: bool = True) -> MailMessage | None:
    """Send a queued message unless it was sent already; commits. Raises MailDeliveryError on failure.

    A failure on the `last_attempt` (or one that retrying cannot fix) leaves the row `failed`.
    """
    message = db.session.execute(select(MailMessage).where(MailMessage.id == message_id)
                                 .with_for_update(skip_locked=True)).scalar_one_or_none()
    if message is None or message.state != MailState.QUEUED:
        # Sent or given up already, or another worker is sending it right now.
        db.session.rollback()
        return message
    attempts = message.attempts + 1
    message.attempts, message.job_id = attempts, job_id or message.job_id
    try:
        _send(message)
    except Exception as exc:
        db.session.rollback()
        message = db.session.get(MailMessage, message_id)
        message.attempts, message.last_error = attempts, describe(exc)
        if last_attempt or not is_transient(exc):
            message.state = MailState.FAILED
            redact_secrets(message)
        db.session.commit()
        log.warning("mail %s to %s not sent (attempt %s): %s", message_id, message.to_email, attempts,
                    message.last_error)
        raise
    return _mark_sent(message)


def _mark_sent(message: MailMessage) -> MailMessage | None:
    """Record a message the SMTP server accepted; commits, on a new connection if the database restarted."""
    message_id, attempts, job_id = message.id, message.attempts, message.job_id
    for pause in (*SENT_MARK_PAUSES, None):
        try:
            if message is None:  # the commit failed: the row again, locked, once the database answers
                message = db.session.execute(select(MailMessage).where(MailMessage.id == message_id)
                                             .with_for_update()).scalar_one_or_none()
                if message is None or message.state != MailState.QUEUED:
                    db.session.rollback()  # gone, or recorded meanwhile
                    return message
            message.state, message.sent_at, message.last_error = MailState.SENT, _now(), None
            message.attempts, message.job_id = attempts, job_id
            redact_secrets(message)
            db.session.commit()
            return message
        except Exception as exc:
            db.session.rollback()
            if pause is None or not is_transient(exc):
                raise
            log.warning("mail %s was sent but is not recorded yet (%s); trying again", message_id, type(exc).__name__)
            time.sleep(pause)
            message = None


def retry_message(message_id: int) -> MailMessage:
    """Queue a failed (or stuck) message again from the console; the caller commits."""
    message = db.session.execute(select(MailMessage).where(MailMessage.id == message_id)
                                 .with_for_update()).scalar_one_or_none()
    if message is None:
        raise MailRetryRefused(f"no message {message_id}")
    if message.state == MailState.SENT:
        raise MailRetryRefused(f"message {message_id} was sent already")
    if is_redacted(message):
        raise MailRetryRefused(f"message {message_id} held a secret that was removed after its last attempt; "
                               "it cannot be sent again")
    message.state = MailState.QUEUED
    queueing.enqueue_after_commit(queueing.MAIL, JOB, message.id, retry=retry_policy())
    return message


def requeue_stale_mail(older_than_minutes: float | None = None) -> list[int]:
    """Queue again messages still `queued` after a while whose job is gone (lost, or its worker died)."""
    minutes = current_app.config["MAIL_STUCK_MINUTES"] if older_than_minutes is None else older_than_minutes
    cutoff = _now() - timedelta(minutes=minutes)
    stale = db.session.execute(select(MailMessage.id, MailMessage.job_id).where(
        MailMessage.state == MailState.QUEUED, MailMessage.created_at <= cutoff)).all()
    requeued = [message_id for message_id, job_id in stale if not _job_waiting(job_id)]
    for message_id in requeued:
        log.warning("mail %s is still queued; queueing it again", message_id)
        queueing.enqueue(queueing.MAIL, JOB, message_id, retry=retry_policy())
    return requeued


def _job_waiting(job_id: str | None) -> bool:
    """True while RQ still has the job waiting to run (a retry may be scheduled for later)."""
    if not job_id:
        return False
    try:
        status = Job.fetch(job_id, connection=redis_client.connection).get_status()
    except NoSuchJobError:
        return False
    return status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


def _send(message: MailMessage) -> None:
    config = current_app.config
    email = _compose(message, config["MAIL_SENDER"])
    if not config.get("SMTP_HOST"):
        # Demo mode (no SMTP server configured). Never the body: it may hold a password or a code.
        log.info("mail %s (%s) to %s would be sent now; SMTP_HOST is empty, so it is not", message.id,
                 message.kind, message.to_email)
        return
    try:
        smtp = smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=config["SMTP_TIMEOUT"])
        try:
            smtp.ehlo()
            if config.get("SMTP_STARTTLS"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
            smtp.send_message(email)
        finally:
            # Once the server accepted the message, a failing QUIT must not make it count as unsent.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise MailDeliveryError(f"SMTP refused the recipient ({', '.join(map(str, codes))})",
                                retryable=all(400 <= code < 500 for code in codes)) from exc
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise MailDeliveryError(f"SMTP answered {exc.smtp_code} {text}"[:300],
                                retryable=400 <= exc.smtp_code < 500) from exc
    except (smtplib.SMTPNotSupportedError, ssl.SSLError) as exc:
        raise MailDeliveryError(f"SMTP TLS failed: {exc}"[:300], retryable=False) from exc
    except OSError as exc:  # refused, reset, timed out, disconnected: the server may be back later
        raise MailDeliveryError(f"cannot reach SMTP at {config['SMTP_HOST']}:{config['SMTP_PORT']}: "
                                f"{type(exc).__name__} {exc}"[:300], retryable=True) from exc


def _compose(message: MailMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = formataddr(("Oxnack", sender))
    email["To"] = message.to_email
    email["Subject"] = message.subject
    email["Date"] = format_datetime(_now())
    # A stable id per row lets a mailbox drop the duplicate if a crash ever makes us resend.
    email["Message-ID"] = f"<oxnack-mail-{message.id}@{sender.rpartition('@')[2] or 'oxnack'}>"
    email.set_content(message.body, charset="utf-8")
    return email


def _now() -> datetime:
    return datetime.now(timezone.utc)

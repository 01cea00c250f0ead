"""Newsletters: compose (checked against Telegram's HTML), count, test, then send as jobs; pause, resume, cancel.

Starting one writes a recipient row per address and channel (unique), then queues
NEWSLETTER_SENDERS sender jobs (services/support/sending.py). Every change of state is audited.
"""
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from oxnack_admin.extensions import db
from oxnack_admin.models import Newsletter, NewsletterRecipient, Staff
from oxnack_admin.models.enums import NewsletterState, NoticeChannel, RecipientState
from oxnack_admin.services.mail import mail
from oxnack_admin.services.ops import queueing
from oxnack_admin.services.staff import audit
from oxnack_admin.services.support import audience, telegram_html
from oxnack_admin.services.support.alerts import absolute_url
from oxnack_admin.services.support.subscribers import unsubscribe_token
from oxnack_admin.services.telegram import outbox

JOB = "jobs.newsletters.send"
QUEUE = queueing.TELEGRAM
STOP_FOOTER = "\n\n/stop"  # every newsletter says how to end them; counted in the length check
LANGUAGES = ("ru", "en")
CHANNELS = (NoticeChannel.TELEGRAM, NoticeChannel.MAIL, NoticeChannel.BOTH)


class NewsletterError(Exception):
    """A newsletter action that cannot be done; the message says why."""


@dataclass
class Progress:
    newsletter: Newsletter
    counts: dict[str, int]
    total: int

    @property
    def done(self) -> int:
        return self.total - self.counts.get(RecipientState.QUEUED, 0) - self.counts.get(RecipientState.SENDING, 0)

    @property
    def polling(self) -> bool:
        """The page refreshes itself while something can still change without staff doing anything."""
        return self.newsletter.state == NewsletterState.SENDING or bool(self.counts.get(RecipientState.SENDING))


def check(title: str, body: str, audience_name: str, language: str | None, channel: str) -> list[str]:
    """Everything wrong with a draft, in words for the form; empty when it can be saved."""
    errors = [] if (title or "").strip() else ["Give it a title (the mail's subject)."]
    errors += telegram_html.problems((body or "") + STOP_FOOTER)
    if audience_name not in audience.AUDIENCES:
        errors.append("Choose an audience.")
    if language not in (None, *LANGUAGES):
        errors.append("Choose a language, or every language.")
    if channel not in CHANNELS:
        errors.append("Choose a channel.")
    return errors


def create(staff: Staff, title: str, body: str, audience_name: str, language: str | None, channel: str) -> Newsletter:
    """Save a checked draft; raises NewsletterError with every problem. Commits."""
    errors = check(title, body, audience_name, language, channel)
    if errors:
        raise NewsletterError("; ".join(errors))
    newsletter = Newsletter(title=title.strip(), body=body.strip(), audience=audience_name, language=language,
                            channel=channel, state=NewsletterState.DRAFT, created_by=staff.id)
    db.session.add(newsletter)
    db.session.flush()
    audit.record(staff, "newsletter.created", "newsletter", newsletter.id,
                 after={"audience": audience_name, "language": language, "channel": channel})
    db.session.commit()
    return newsletter


def telegram_text(newsletter: Newsletter) -> str:
    return newsletter.body + STOP_FOOTER


def mail_body(newsletter: Newsletter, user_id: int | None) -> str:
    """The mail: the text without tags, and a signed link that ends newsletters (not service notices)."""
    text = telegram_html.plain_text(newsletter.body)
    if user_id is None:
        return text
    link = absolute_url("newsletter_pages.unsubscribe_page", {"token": unsubscribe_token(user_id)})
    return f"{text}\n\n--\nNo more newsletters from Oxnack (service notices still come): {link}\n"


def send_test(newsletter: Newsletter, staff: Staff) -> list[str]:
    """The newsletter to the staff member: by mail, and over Telegram when their page holds a chat id. Commits."""
    reached = []
    if staff.email:
        mail.queue_mail(staff.email, f"[test] {newsletter.title}", mail_body(newsletter, None), "newsletter_test")
        reached.append(f"mail to {staff.email}")
    if staff.telegram_chat_id and outbox.bot_enabled():
        outbox.queue_message(staff.telegram_chat_id, telegram_text(newsletter), kind="newsletter_test")
        reached.append(f"Telegram chat {staff.telegram_chat_id}")
    audit.record(staff, "newsletter.tested", "newsletter", newsletter.id, after={"to": reached})
    db.session.commit()
    return reached


def start(newsletter: Newsletter, staff: Staff) -> int:
    """Write the recipient rows and queue the senders; the number of recipients. Commits."""
    locked = _locked(newsletter.id)
    if locked.state != NewsletterState.DRAFT:
        raise NewsletterError(f"This newsletter is {locked.state}; only a draft can be sent.")
    found = audience.targets(locked.audience, locked.language, locked.channel)
    if not found:
        raise NewsletterError("Nobody is in this audience.")
    for chunk in range(0, len(found), 1000):
        db.session.execute(insert(NewsletterRecipient).values([
            {"newsletter_id": locked.id, "channel": t.channel, "address": t.address, "user_id": t.user_id,
             "state": RecipientState.QUEUED} for t in found[chunk:chunk + 1000]]).on_conflict_do_nothing())
    locked.state, locked.started_at = NewsletterState.SENDING, _now()
    audit.record(staff, "newsletter.started", "newsletter", locked.id, after={"recipients": len(found)})
    _queue_senders(locked.id)
    db.session.commit()
    return len(found)


def pause(newsletter: Newsletter, staff: Staff) -> None:
    _move(newsletter, staff, {NewsletterState.SENDING}, NewsletterState.PAUSED, "newsletter.paused")


def resume(newsletter: Newsletter, staff: Staff) -> None:
    _move(newsletter, staff, {NewsletterState.PAUSED}, NewsletterState.SENDING, "newsletter.resumed")


def cancel(newsletter: Newsletter, staff: Staff) -> None:
    """Stop for good: whoever was not reached yet is recorded `skipped`."""
    _move(newsletter, staff, {NewsletterState.SENDING, NewsletterState.PAUSED, NewsletterState.DRAFT},
          NewsletterState.CANCELLED, "newsletter.cancelled")


def _move(newsletter: Newsletter, staff: Staff, allowed: set, to: str, action: str) -> None:
    locked = _locked(newsletter.id)
    if locked.state not in allowed:
        db.session.rollback()
        raise NewsletterError(f"This newsletter is {locked.state}.")
    before, locked.state = locked.state, to
    if to == NewsletterState.CANCELLED:
        db.session.execute(update(NewsletterRecipient).where(
            NewsletterRecipient.newsletter_id == locked.id, NewsletterRecipient.state == RecipientState.QUEUED)
            .values(state=RecipientState.SKIPPED, error="the newsletter was cancelled"))
        locked.finished_at = _now()
    if to == NewsletterState.SENDING:
        _queue_senders(locked.id)
    audit.record(staff, action, "newsletter", locked.id, before={"state": before}, after={"state": to})
    db.session.commit()


def progress(newsletter: Newsletter) -> Progress:
    counts = dict(db.session.execute(select(NewsletterRecipient.state, func.count()).where(
        NewsletterRecipient.newsletter_id == newsletter.id).group_by(NewsletterRecipient.state)).all())
    return Progress(newsletter, counts, sum(counts.values()))


def recipients(newsletter: Newsletter, state: str | None = None, limit: int = 200) -> list[NewsletterRecipient]:
    statement = select(NewsletterRecipient).where(NewsletterRecipient.newsletter_id == newsletter.id)
    if state:
        statement = statement.where(NewsletterRecipient.state == state)
    return list(db.session.scalars(statement.order_by(NewsletterRecipient.id).limit(limit)))


def listing(limit: int = 100) -> list[Newsletter]:
    return list(db.session.scalars(select(Newsletter).order_by(Newsletter.id.desc()).limit(limit)))


def _queue_senders(newsletter_id: int) -> None:
    for _ in range(max(1, int(current_app.config["NEWSLETTER_SENDERS"]))):
        queueing.enqueue_after_commit(QUEUE, JOB, newsletter_id, job_timeout=job_timeout())


def job_timeout() -> int:
    return int(float(current_app.config["NEWSLETTER_SLICE_SECONDS"]) + float(current_app.config["TELEGRAM_TIMEOUT"]) * 3 + 60)


def _locked(newsletter_id: int) -> Newsletter:
    return db.session.execute(select(Newsletter).where(Newsletter.id == newsletter_id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one()


def _now() -> datetime:
    return datetime.now(timezone.utc)

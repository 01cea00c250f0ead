"""Outgoing mail: a row in `mail_messages` first, then the `jobs.mail` job sends it."""
from flask import render_template

from ..extensions import db
from ..models import MailMessage
from . import queueing


def render_mail(kind: str, **context) -> tuple[str, str]:
    """(subject, body) from templates/mail/<kind>.txt, whose first line is `Subject: ...`."""
    text = render_template(f"mail/{kind}.txt", **context)
    first_line, _, body = text.partition("\n")
    if not first_line.startswith("Subject: "):
        raise ValueError(f"mail template {kind} must start with a Subject: line")
    return first_line[len("Subject: "):].strip(), body.lstrip("\n")


def queue_mail(to_email: str, subject: str, body: str, kind: str) -> MailMessage:
    """Record a message and send it once the current transaction commits."""
    message = MailMessage(to_email=to_email, subject=subject, body=body, kind=kind)
    db.session.add(message)
    db.session.flush()
    queueing.enqueue_after_commit(queueing.MAIL, "jobs.mail.send_message", message.id)
    return message


def queue_templated_mail(to_email: str, kind: str, **context) -> MailMessage:
    subject, body = render_mail(kind, **context)
    return queue_mail(to_email, subject, body, kind)

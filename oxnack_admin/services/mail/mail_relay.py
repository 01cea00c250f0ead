"""The internal mail relay (legacy port 7003): callers with the shared password send plain text mail."""
import hmac

from flask import current_app

from oxnack_admin.extensions import db
from oxnack_admin.services.mail import mail
from oxnack_admin.services.accounts.customers import is_storable, is_valid_email

MAX_SUBJECT_LENGTH = 998  # one header line (RFC 5322)


class RelayRefused(Exception):
    """The message cannot be relayed as given (bad address, header injection)."""


def is_authorized(password: str) -> bool:
    """True only for the configured password; an empty configured password authorizes nothing."""
    expected = current_app.config.get("MAIL_RELAY_PASSWORD") or ""
    return bool(expected) and hmac.compare_digest(password.encode("utf-8", "replace"), expected.encode("utf-8", "replace"))


def relay(to_email: str, subject: str, body: str) -> None:
    """Queue the message and a copy to our own sender address, then commit."""
    to_email = to_email.strip()
    if not is_valid_email(to_email):
        raise RelayRefused("bad recipient")
    if "\r" in subject or "\n" in subject or len(subject) > MAX_SUBJECT_LENGTH:
        raise RelayRefused("bad subject")
    if not all(is_storable(part) for part in (subject, body)):
        raise RelayRefused("NUL or lone surrogate")
    mail.queue_mail(to_email, subject, body, "relay")
    mail.queue_mail(current_app.config["MAIL_SENDER"], f"[COPY] (sended to: {to_email}) {subject}", body,
                    "relay_copy")
    db.session.commit()

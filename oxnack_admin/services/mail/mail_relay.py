"""The internal mail relay (legacy port 7003): callers with the shared password send plain text mail."""
import hmac
import ipaddress

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


def is_internal_caller(client_address: str | None, local_port: int | None) -> bool:
    """Whether a relay request came where internal callers reach it: MAIL_RELAY_BIND's port, an allowed network.

    The legacy relay was its own service on port 7003, never on the public ports; an open
    sender guarded by one shared password is a spam cannon, so both checks must pass.
    """
    config = current_app.config
    bind = (config.get("MAIL_RELAY_BIND") or "").strip()
    if bind:
        port = bind.rpartition(":")[2]
        if not port.isdigit() or local_port != int(port):
            return False
    try:
        address = ipaddress.ip_address((client_address or "").strip("[]"))
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(network, strict=False)
               for network in config.get("MAIL_RELAY_ALLOWED_NETWORKS") or [])

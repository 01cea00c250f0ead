"""Customer accounts: registration with an e-mailed code, confirmation, sign-in, code resend."""
import re

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from oxnack_admin.extensions import db
from oxnack_admin.models import User
from oxnack_admin.services.accounts import codes, sessions
from oxnack_admin.services.mail import mail
from oxnack_admin.services.accounts.passwords import hash_password, verify_password

MAX_MAIL_LENGTH = 254
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128  # argon2 of a megabyte is a denial of service, not a password
_MAIL = re.compile(r"^[^@\s\"'<>()\[\],;:\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


class CustomerError(Exception):
    """A registration or sign-in refused; subclasses say why."""


class InvalidEmail(CustomerError):
    pass


class WeakPassword(CustomerError):
    pass


class UserExists(CustomerError):
    pass


class UnknownUser(CustomerError):
    pass


class WrongPassword(CustomerError):
    pass


class NotVerified(CustomerError):
    pass


class AccountBlocked(CustomerError):
    pass


class CodeMissing(CustomerError):
    """No pending code: never sent, expired, used, or too many wrong tries."""


class WrongCode(CustomerError):
    pass


def is_storable(value: str) -> bool:
    """Encodable as UTF-8 (no lone surrogates) and free of NUL, which PostgreSQL text refuses."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def is_valid_email(address: str) -> bool:
    return len(address) <= MAX_MAIL_LENGTH and is_storable(address) and bool(_MAIL.match(address))


def is_strong_password(password: str) -> bool:
    """The legacy rules: 8+ characters, upper, lower, digit, and no quote characters."""
    return (MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH and is_storable(password)
            and any(c.isupper() for c in password) and any(c.islower() for c in password)
            and any(c.isdigit() for c in password) and "'" not in password and '"' not in password)


def find_by_mail(address: str) -> User | None:
    """The customer who signs in with this e-mail, whatever its case (uses the unique mail index).

    Of legacy accounts sharing an address only the one not flagged `duplicate_mail` is found
    (services/accounts/duplicates.py says which one and why).
    """
    address = address.strip().lower()
    if not address or len(address) > MAX_MAIL_LENGTH or not is_storable(address):  # nobody can have it
        return None
    return db.session.scalar(select(User).where(func.lower(func.btrim(User.mail)) == address,
                                                ~User.duplicate_mail, func.btrim(User.mail) != ""))


def register(address: str, password: str) -> User:
    """Create an unverified customer and mail a code; for an unverified one with this password, resend.

    Raises InvalidEmail, WeakPassword or UserExists. Commits.
    """
    address = address.strip()
    if not is_valid_email(address):
        raise InvalidEmail(address)
    if not is_strong_password(password):
        raise WeakPassword()
    user = find_by_mail(address)
    if user is not None:
        if user.is_verified or not _password_matches(user, password):
            raise UserExists(address)
    else:
        user = User(mail=address, passwd_hash=hash_password(password), is_verified=False)
        db.session.add(user)
        try:
            db.session.flush()
        except IntegrityError:  # the same address registered concurrently
            db.session.rollback()
            raise UserExists(address) from None
        user.username = format(user.id, "x")  # the legacy rule: the id in hexadecimal
    send_registration_code(user)
    db.session.commit()
    return user


def send_registration_code(user: User) -> None:
    """Issue a fresh code and queue the e-mail with it, in the caller's transaction (console: resend)."""
    code = codes.issue(codes.REGISTRATION, user.mail)
    mail.queue_templated_mail(user.mail, "registration_code", code=code,
                              minutes=current_app.config["CODE_TTL_SECONDS"] // 60)


def confirm_registration(address: str, code: str) -> User:
    """Mark the customer verified when `code` is right. Raises CodeMissing or WrongCode. Commits."""
    result = codes.check(codes.REGISTRATION, address, code)
    if result is codes.CodeCheck.MISSING:
        raise CodeMissing()
    if result is codes.CodeCheck.WRONG:
        raise WrongCode()
    user = find_by_mail(address)
    if user is None:  # deleted by staff while the code was pending
        raise CodeMissing()
    user.is_verified = True
    db.session.commit()
    return user


def authenticate(address: str, password: str) -> User:
    """The customer these credentials belong to; upgrades a legacy password hash in place.

    Raises InvalidEmail, UnknownUser, WrongPassword, NotVerified or AccountBlocked. The password
    is checked before verification so an unverified address is not revealed to someone without it.
    """
    user = find_by_mail(address)
    if user is None:
        if not is_valid_email(address.strip()):
            # The contract's 400; an adopted account whose old address our rule rejects still signs in.
            raise InvalidEmail(address)
        raise UnknownUser(address)
    if not _password_matches(user, password):
        raise WrongPassword()
    if user.is_blocked:
        raise AccountBlocked()
    if not user.is_verified:
        raise NotVerified()
    return user


def sign_in(address: str, password: str, *, ip: str | None = None, user_agent: str | None = None) -> str:
    """Authenticate and open a session for this device; returns the cookie token. Commits."""
    user = authenticate(address, password)
    token = sessions.start_session(user, ip=ip, user_agent=user_agent)
    db.session.commit()
    return token


def _password_matches(user: User, password: str) -> bool:
    if len(password) > MAX_PASSWORD_LENGTH or not is_storable(password):
        return False
    ok, replacement = verify_password(user.passwd_hash, password)
    if ok and replacement:
        user.passwd_hash = replacement  # committed with whatever the caller commits next
    return ok

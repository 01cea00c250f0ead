"""What staff do to customers: find them, see their account, adjust, verify, block, sign out."""
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, or_, select

from oxnack_admin.extensions import db
from oxnack_admin.models import ProxyOrder, Server, Transaction, User, UserSession
from oxnack_admin.models.enums import TransactionType
from oxnack_admin.services.staff import audit
from oxnack_admin.services.money import ledger
from oxnack_admin.services.accounts import customers, sessions
from oxnack_admin.services.lifecycle import renewal
from oxnack_admin.services.paging import ListParams, Page, like_escape, paginate

SORTS = {"id": User.id, "mail": (User.mail, User.id), "balance": (User.balance, User.id),
         "created": (User.created_at, User.id)}
FILTERS = ("state",)
STATES = {"verified": User.is_verified.is_(True), "unverified": or_(User.is_verified.is_(False), User.is_verified.is_(None)),
          "blocked": User.blocked_at.is_not(None)}
MAX_ADJUSTMENT = Decimal("1000000")
SUBMIT_TOKEN_BYTES = 24
_SUBMIT_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")  # token_urlsafe(24)
_DECIMAL = re.compile(r"0|-?[1-9][0-9]*")


class CustomerActionError(ValueError):
    """The action does not apply to this customer; the message says why."""


def search_users(params: ListParams) -> Page:
    """Customers whose mail, username or Telegram name contains q (or whose id/tg id is q)."""
    statement = select(User)
    if params.q:
        pattern = f"%{like_escape(params.q)}%"
        matches = [User.mail.ilike(pattern, escape="\\"), User.username.ilike(pattern, escape="\\"),
                   User.legacy_mail.ilike(pattern, escape="\\"), User.legacy_username.ilike(pattern, escape="\\"),
                   User.tg_username.ilike(pattern, escape="\\")]
        # tg_id::text = q, said so an index serves it (and the OR as a whole): q is the id's decimal form.
        if _DECIMAL.fullmatch(params.q) and -2 ** 63 <= int(params.q) < 2 ** 63:
            matches.append(User.tg_id == int(params.q))
        if params.q.isdigit() and len(params.q) < 10:
            matches.append(User.id == int(params.q))
        statement = statement.where(or_(*matches))
    state = params.filters.get("state")
    if state in STATES:
        statement = statement.where(STATES[state])
    return paginate(statement, params, SORTS)


@dataclass(frozen=True)
class CustomerOverview:
    user: User
    sessions: list[UserSession]
    servers: list[Server]
    transactions: list[Transaction]
    transaction_count: int
    proxy_orders: list[ProxyOrder]
    proxy_order_count: int


def overview(user: User, transactions_shown: int = 50, proxy_orders_shown: int = 20) -> CustomerOverview:
    """Everything the user page shows, loaded here so the template does no queries."""
    owned = list(db.session.scalars(select(Server).where(Server.username == user.username).order_by(Server.id))) \
        if user.username else []
    ledger = select(Transaction).where(Transaction.user_id == user.id)
    recent = list(db.session.scalars(ledger.order_by(Transaction.id.desc()).limit(transactions_shown)))
    count = db.session.scalar(select(func.count()).select_from(ledger.subquery()))
    proxies = select(ProxyOrder).where(ProxyOrder.user_id == user.id)
    proxy_orders = list(db.session.scalars(proxies.order_by(ProxyOrder.id.desc()).limit(proxy_orders_shown)))
    proxy_count = db.session.scalar(select(func.count()).select_from(proxies.subquery()))
    return CustomerOverview(user, sessions.active_sessions(user.id), owned, recent, count, proxy_orders, proxy_count)


def parse_amount(text: str) -> Decimal:
    """A signed amount with at most two decimals, not zero, within MAX_ADJUSTMENT."""
    try:
        amount = Decimal(text.strip().replace(",", "."))
    except (InvalidOperation, AttributeError):
        raise CustomerActionError("Enter a number such as 150 or -20.50.") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise CustomerActionError("At most two decimals.")
    if amount == 0:
        raise CustomerActionError("The amount cannot be zero.")
    if abs(amount) > MAX_ADJUSTMENT:
        raise CustomerActionError(f"At most {MAX_ADJUSTMENT} either way.")
    return amount


def new_submit_token() -> str:
    """A one-time token for one rendered adjust-balance form."""
    return secrets.token_urlsafe(SUBMIT_TOKEN_BYTES)


def is_submit_token(text: str | None) -> bool:
    return bool(text) and _SUBMIT_TOKEN.fullmatch(text) is not None


def adjust_balance(user: User, amount: Decimal, reason: str, staff,
                   submit_token: str | None = None) -> Transaction | None:
    """Credit or debit a balance by hand: one ADJUSTMENT ledger row and one audit event.

    With the `submit_token` of the form it came from, a repeat of that submit (a double click, a
    resubmitted page) moves nothing and returns None. Raises ledger.InsufficientFunds when a
    debit would take the balance below zero.
    """
    reason = reason.strip()
    if not reason:
        raise CustomerActionError("Give a reason; it is shown in the ledger.")
    before = user.balance
    key = f"staff-adjustment:{user.id}:{submit_token}" if submit_token else None
    row = ledger.move_money(user.id, amount, TransactionType.ADJUSTMENT, f"staff adjustment: {reason}",
                            staff_id=staff.id, idempotency_key=key)
    if row is None:
        return None
    if amount > 0:  # a credit may cover the renewal of a suspended server: resume it after the commit
        renewal.schedule_resume_after_commit(user.id)
    audit.record(staff, "user.adjust_balance", "user", user.id,
                 before={"balance": str(before)},
                 after={"balance": str(ledger.balance_of(user.id)), "amount": str(amount), "reason": reason,
                        "transaction_id": row.id})
    return row


def verify_email(user: User, staff) -> None:
    if user.is_verified:
        raise CustomerActionError("The e-mail address is already verified.")
    user.is_verified = True
    audit.record(staff, "user.verify_email", "user", user.id, before={"is_verified": False},
                 after={"is_verified": True})


def set_blocked(user: User, blocked: bool, staff) -> int:
    """Block (no login, no orders, every session ended) or unblock; returns sessions ended."""
    if blocked == user.is_blocked:
        raise CustomerActionError("The customer is already blocked." if blocked else "The customer is not blocked.")
    before = {"blocked_at": user.blocked_at}
    user.blocked_at = datetime.now(timezone.utc) if blocked else None
    ended = sessions.end_all_sessions(user.id) if blocked else 0
    audit.record(staff, "user.block" if blocked else "user.unblock", "user", user.id, before=before,
                 after={"blocked_at": user.blocked_at, "sessions_ended": ended})
    return ended


def end_sessions(user: User, staff) -> int:
    """Sign the customer out on every device."""
    ended = sessions.end_all_sessions(user.id)
    audit.record(staff, "user.end_sessions", "user", user.id, after={"sessions_ended": ended})
    return ended


def resend_code(user: User, staff) -> None:
    """E-mail an unverified customer a fresh registration code."""
    if user.is_verified:
        raise CustomerActionError("The e-mail address is already verified; no code is needed.")
    if not user.mail:
        raise CustomerActionError("The customer has no e-mail address.")
    if user.duplicate_mail:  # the code would confirm the account that signs in with it, not this one
        raise CustomerActionError("Another account signs in with this address; resolve the duplicate first.")
    customers.send_registration_code(user)
    audit.record(staff, "user.resend_code", "user", user.id, after={"mail": user.mail})

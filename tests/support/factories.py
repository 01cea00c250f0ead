"""Rows for tests, built through the same services the app uses where money is involved."""
import itertools
from decimal import Decimal

from oxnack_admin.extensions import db
from oxnack_admin.models import Invoice, Promocode, Server, Staff, Transaction, User
from oxnack_admin.models.enums import InvoiceState, TransactionStatus, TransactionType
from oxnack_admin.services.money import ledger
from oxnack_admin.services.accounts.passwords import hash_password
from oxnack_admin.services.staff.staff import create_staff

_numbers = itertools.count(1)
DEFAULT_PASSWORD = "Secret123"


def make_user(mail: str | None = None, password: str = DEFAULT_PASSWORD, balance: int | Decimal = 0,
              verified: bool = True, passwd_hash: str | None = None, **columns) -> User:
    """A customer; pass `passwd_hash` (of `password`) to skip argon2's ~50 ms when making many."""
    user = User(mail=mail or f"user{next(_numbers)}@example.com", passwd_hash=passwd_hash or hash_password(password),
                is_verified=verified, balance=Decimal(0), **columns)
    db.session.add(user)
    db.session.flush()
    user.username = user.username or format(user.id, "x")
    if balance:
        ledger.move_money(user.id, balance, TransactionType.ADJUSTMENT, "test opening balance")
    db.session.commit()
    return user


def make_server(vmid: int | None = None, os_name: str = "ubuntu", **columns) -> Server:
    vmid = vmid or 1000 + next(_numbers)
    values = dict(id=vmid, os=os_name, ram=1, cores=1, hdd=15, status="off", busy=False,
                  ips=[f"203.0.113.{vmid % 250}"], lan_ip=f"192.168.2.{vmid % 250}", country="russia")
    values.update(columns)
    server = Server(**values)
    db.session.add(server)
    db.session.commit()
    return server


def make_pool(count: int, os_name: str = "ubuntu", first_vmid: int = 500) -> list[Server]:
    return [make_server(first_vmid + offset, os_name) for offset in range(count)]


def make_promocode(promo: str = "SAVE10", discount: int = 10, **columns) -> Promocode:
    code = Promocode(promo=promo, discount=discount, **columns)
    db.session.add(code)
    db.session.commit()
    return code


def make_staff(role: str = "admin", email: str | None = None, password: str = "staff-password-1") -> Staff:
    staff = create_staff(email or f"{role}{next(_numbers)}@oxnack.test", role, password)
    db.session.commit()
    return staff


def make_invoice(user: User, amount: int = 100, gateway_id: str | None = None) -> Invoice:
    """A pending top-up as POST /create_invoice leaves it (without asking a gateway)."""
    number = next(_numbers)
    gateway_id = gateway_id or f"00000000-0000-4000-8000-{number:012d}"
    row = Transaction(username=user.username, user_id=user.id, type=TransactionType.TOP_UP, amount=Decimal(amount),
                      date=ledger.legacy_date(), discription="test invoice", status=TransactionStatus.PENDING,
                      transaction_id=gateway_id)
    db.session.add(row)
    db.session.flush()
    invoice = Invoice(reference=f"inv_test{number}", ledger_row_id=row.id, user_id=user.id, gateway_id=gateway_id,
                      amount=Decimal(amount), payment_method=2, state=InvoiceState.PENDING,
                      redirect=f"https://pay.example/{gateway_id}")
    db.session.add(invoice)
    db.session.commit()
    return invoice

"""Demo data for the embedded default: idempotent, so `make run` can seed on every start."""
import secrets
from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import MarketService, Promocode, Server, Staff, User
from oxnack_admin.models.enums import StaffRole, TransactionType
from oxnack_admin.services.money import ledger
from oxnack_admin.services.accounts.passwords import hash_password
from oxnack_admin.services.staff.staff import create_staff

DEMO_STAFF_EMAIL = "owner@oxnack.local"
DEMO_CUSTOMERS = [  # mail, password, verified, opening balance
    ("demo@oxnack.local", "DemoPass1", True, 1000),
    ("alice@oxnack.local", "AlicePass1", True, 250),
    ("bob@oxnack.local", "BobPass12", False, 0),
]
# (first VMID, OS, how many): mirrors the legacy pool made from templates 105 and 200.
DEMO_POOL = [(301, "ubuntu", 4), (401, "debian", 3)]
DEMO_PROMOCODES = [("START10", 10, None), ("HALF", 50, 5)]
DEMO_SERVICES = [
    ("Telegram-бот под ключ", "Разработка бота", "Turnkey Telegram bot", "Bot development", 50, 4500),
    ("Лендинг", "Одностраничный сайт", "Landing page", "One-page site", 80, 7000),
]


def seed(staff_password: str | None = None) -> Iterator[str]:
    yield from _seed_staff(staff_password)
    yield from _seed_customers()
    yield from _seed_pool()
    for promo, discount, max_uses in DEMO_PROMOCODES:
        if db.session.get(Promocode, promo) is None:
            db.session.add(Promocode(promo=promo, discount=discount, max_uses=max_uses))
            yield f"promocode {promo}: {discount}%"
    if not db.session.scalar(select(func.count(MarketService.id))):
        for name_ru, description_ru, name_en, description_en, usd, rub in DEMO_SERVICES:
            db.session.add(MarketService(name_ru=name_ru, description_ru=description_ru, name_en=name_en,
                                         description_en=description_en, price_usd=usd, price_rub=rub,
                                         image_link="", enabled=True))
        yield f"{len(DEMO_SERVICES)} market services"


def _seed_staff(staff_password: str | None) -> Iterator[str]:
    if db.session.scalar(select(Staff.id).where(Staff.email == DEMO_STAFF_EMAIL)):
        if staff_password:
            yield f"staff login: {DEMO_STAFF_EMAIL} (password unchanged)"
        return
    password = staff_password or secrets.token_urlsafe(12)
    create_staff(DEMO_STAFF_EMAIL, StaffRole.OWNER, password, name="Demo owner")
    yield f"staff login: {DEMO_STAFF_EMAIL} / {password}"


def _seed_customers() -> Iterator[str]:
    for mail, password, verified, balance in DEMO_CUSTOMERS:
        if db.session.scalar(select(User.id).where(func.lower(User.mail) == mail)):
            continue
        user = User(mail=mail, passwd_hash=hash_password(password), is_verified=verified, balance=Decimal(0))
        db.session.add(user)
        db.session.flush()
        user.username = format(user.id, "x")
        if balance:
            ledger.move_money(user.id, balance, TransactionType.ADJUSTMENT, "demo opening balance")
        yield f"customer {mail} / {password}" + ("" if verified else " (not verified)")


def _seed_pool() -> Iterator[str]:
    for first_vmid, os_name, count in DEMO_POOL:
        for offset in range(count):
            vmid = first_vmid + offset
            if db.session.get(Server, vmid) is None:
                db.session.add(Server(id=vmid, os=os_name, ram=1, cores=1, hdd=15, status="off", busy=False,
                                      ips=[f"198.51.100.{vmid % 256}"], lan_ip=f"192.168.2.{vmid % 256}",
                                      country="russia"))
        yield f"pool: {count} {os_name} VMs from {first_vmid}"

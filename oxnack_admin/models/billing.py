"""The ledger (legacy `transactions`) and promocodes."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, Numeric, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class Transaction(db.Model):
    """One money movement. Amount is signed: credits positive, debits negative."""

    __tablename__ = "transactions"
    __table_args__ = (
        # The console's ledger: "contains" search by trigrams, newest first without sorting every row.
        *(Index(f"ix_transactions_{column}_trgm", column, postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"}) for column in ("username", "discription")),
        Index("ix_transactions_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str | None] = mapped_column(Text)
    tg_id: Mapped[int | None] = mapped_column(BigInteger)
    type: Mapped[str | None] = mapped_column(Text)  # TransactionType
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    date: Mapped[str | None] = mapped_column(Text)  # 'dd.mm.yyyy', still written for legacy readers
    discription: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Text)  # TransactionStatus
    transaction_id: Mapped[str | None] = mapped_column(Text)  # the gateway's id for top-ups
    # Added by Oxnack Admin.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    server_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    # A movement that must happen at most once (a refund, a credited invoice) carries a key.
    idempotency_key: Mapped[str | None] = mapped_column(Text, unique=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))


class Promocode(db.Model):
    """A percent discount code."""

    __tablename__ = "promocodes"

    promo: Mapped[str] = mapped_column(Text, primary_key=True)
    discount: Mapped[int | None] = mapped_column(Integer)  # percent
    # Added by Oxnack Admin.
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    max_uses: Mapped[int | None] = mapped_column(Integer)  # NULL: unlimited
    per_user_limit: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    uses: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PromocodeUse(db.Model):
    """A promocode applied to one order."""

    __tablename__ = "promocode_uses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    promo: Mapped[str] = mapped_column(ForeignKey("promocodes.promo", onupdate="CASCADE", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    server_id: Mapped[int | None] = mapped_column(Integer)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id", ondelete="SET NULL"))
    discount: Mapped[int] = mapped_column(Integer)  # the percent applied
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

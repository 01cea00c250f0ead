"""Balance top-ups through the payment gateway: one invoice beside its `transactions` row."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Index, Integer, Numeric, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .billing import Transaction
from .customers import User


class Invoice(db.Model):
    """What the gateway knows about a top-up. The money side is the ledger row (`add_balance`,
    PENDING until credited, then that very row is the CONFIRMED credit)."""

    __tablename__ = "invoices"
    # The poller walks pending invoices oldest first.
    __table_args__ = (Index("ix_invoices_pending", "created_at", postgresql_where=text("state = 'pending'")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(Text, unique=True)  # ours, sent as `payload`; keys the return page
    ledger_row_id: Mapped[int] = mapped_column(ForeignKey("transactions.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    gateway_id: Mapped[str] = mapped_column(Text, unique=True)  # Platega's transactionId (= transactions.transaction_id)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(Text, server_default=text("'RUB'"))
    payment_method: Mapped[int] = mapped_column(Integer)
    redirect: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default=text("'pending'"))  # InvoiceState
    gateway_status: Mapped[str | None] = mapped_column(Text)  # the status Platega last gave
    last_answer: Mapped[dict | None] = mapped_column(JSONB)  # Platega's last answer, for staff
    last_error: Mapped[str | None] = mapped_column(Text)  # why the last check failed, if it did
    attention: Mapped[str | None] = mapped_column(Text)  # something staff should look at
    checks: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    credited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    credited_by: Mapped[str | None] = mapped_column(Text)  # callback, poller, return page, or a staff e-mail
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    chargeback_row_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id", ondelete="SET NULL"))

    ledger_row: Mapped[Transaction] = relationship(foreign_keys=[ledger_row_id])
    user: Mapped[User | None] = relationship()

"""Proxy resale: the inventory mirrored from the upstream, customers' orders, and sync runs."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, Numeric, Text,
                        UniqueConstraint, func, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class ProxyInventory(db.Model):
    """One upstream proxy as the last sync saw it; `product_id` in the customer calls is our id."""

    __tablename__ = "proxy_inventory"
    __table_args__ = (Index("ix_proxy_inventory_on_sale_country", "on_sale", "country_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    upstream_id: Mapped[int] = mapped_column(BigInteger, unique=True)  # the upstream's proxy_id
    ip: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(Text)
    country_code: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(Text)
    isp: Mapped[str | None] = mapped_column(Text)
    speed: Mapped[float | None] = mapped_column(Float)
    mobile: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    hosting: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    status: Mapped[int] = mapped_column(Integer, server_default=text("1"))  # upstream: 1 online, 0 offline
    on_sale: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # Reserved or sold to a customer: the sync leaves such a row alone.
    sold: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    off_sale_reason: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @property
    def kind(self) -> str:
        """The customer-facing type: mobile, hosting, or residential when neither."""
        return "mobile" if self.mobile else "hosting" if self.hosting else "residential"

    def __repr__(self) -> str:
        return f"<ProxyInventory {self.id} upstream {self.upstream_id} {self.country_code}>"


class ProxyOrder(db.Model):
    """A customer's purchase of one proxy. The credentials are secrets: owner and staff only, never logged."""

    __tablename__ = "proxy_orders"
    # A repeated Idempotency-Key of one customer is the same order.
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key", name="uq_proxy_orders_user_key"),
                      Index("ix_proxy_orders_state", "state"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    inventory_id: Mapped[int] = mapped_column(ForeignKey("proxy_inventory.id", ondelete="RESTRICT"), index=True)
    upstream_proxy_id: Mapped[int] = mapped_column(BigInteger, index=True)
    state: Mapped[str] = mapped_column(Text)  # ProxyOrderState
    price_usd: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    price_rub: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    # What the upstream's buy answered: where the customer connects and with what.
    upstream_credentials_id: Mapped[str | None] = mapped_column(Text, unique=True)
    proxy_ip: Mapped[str | None] = mapped_column(Text)  # the exit address
    server_ip: Mapped[str | None] = mapped_column(Text)
    server_port: Mapped[int | None] = mapped_column(Integer)
    login: Mapped[str | None] = mapped_column(Text)
    password: Mapped[str | None] = mapped_column(Text)
    upstream_price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    refundable: Mapped[bool | None] = mapped_column(Boolean)  # the upstream's flag at purchase
    purchase_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id", ondelete="SET NULL"))
    refund_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())
    bought_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refund_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    error: Mapped[str | None] = mapped_column(Text)  # why it failed or was flagged, safe to show staff

    proxy: Mapped[ProxyInventory] = relationship()

    def __repr__(self) -> str:  # never the credentials
        return f"<ProxyOrder {self.id} user {self.user_id} {self.state}>"


class ProxySyncRun(db.Model):
    """One pass over the upstream listing, recorded as it goes so the console can watch it."""

    __tablename__ = "proxy_sync_runs"
    # At most one run at a time: a second `running` row violates this index.
    __table_args__ = (Index("uq_proxy_sync_runs_one_running", text("(state = 'running')"), unique=True,
                            postgresql_where=text("state = 'running'")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(Text)  # RunState
    trigger: Mapped[str] = mapped_column(Text)  # ProxySyncTrigger
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    requested_by: Mapped[str | None] = mapped_column(Text)  # staff e-mail or "schedule"
    country_code: Mapped[str | None] = mapped_column(Text)
    page_size: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    total_fetched: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    total_available_external: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    added: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    updated: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    removed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    skipped: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Touched after every page: a running row that stops moving belonged to a dead process.
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def is_final(self) -> bool:
        return self.state in ("done", "failed")

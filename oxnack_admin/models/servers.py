"""Servers: one row per Proxmox VM of the pool (`servers.id` IS the VMID)."""
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class Server(db.Model):
    """A pool VM: free while `busy` is false, sold to `username` once claimed."""

    __tablename__ = "servers"
    # The pool claim scans free VMs of one OS.
    __table_args__ = (
        Index("ix_servers_free_by_os", "os", "id", postgresql_where=text("NOT busy")),
        # The console's "contains" search (ILIKE '%q%') by trigrams.
        *(Index(f"ix_servers_{column}_trgm", column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})
          for column in ("username", "lan_ip")),
        # ips::text is not immutable; servers_ips_text(ips) (migration 0012) is the same text, indexable.
        Index("ix_servers_ips_trgm", func.servers_ips_text(text("ips")).label("ips_text"), postgresql_using="gin",
              postgresql_ops={"ips_text": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ram: Mapped[int | None] = mapped_column(Integer)  # GB
    cores: Mapped[int | None] = mapped_column(Integer)
    hdd: Mapped[int | None] = mapped_column(Integer)  # GB
    ips: Mapped[list[str] | None] = mapped_column(ARRAY(Text))  # public IPv4, first one is used
    lan_ip: Mapped[str | None] = mapped_column(Text)
    os: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Text)  # 'on' / 'off', as read back from Proxmox
    passwd: Mapped[str | None] = mapped_column(Text)  # root password mailed to the owner
    mac: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    discription: Mapped[str | None] = mapped_column(Text)  # 'promocode: <promo>' (legacy typo kept)
    busy: Mapped[bool | None] = mapped_column(Boolean, server_default=text("false"))
    username: Mapped[str | None] = mapped_column(Text, index=True)  # owner's users.username
    # Added by Oxnack Admin.
    node: Mapped[str | None] = mapped_column(Text)  # Proxmox node; NULL means the configured one
    country: Mapped[str | None] = mapped_column(Text)
    rented_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # date_start
    paid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # date_stop: the period ends here
    lifecycle_state: Mapped[str | None] = mapped_column(Text)  # LifecycleState; NULL in the pool (services/fleet/states.py)
    auto_renew: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # The smallest RENEWAL_REMINDER_DAYS already mailed for the current period (NULL: none yet).
    reminded_days: Mapped[int | None] = mapped_column(Integer)
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    suspend_reason: Mapped[str | None] = mapped_column(Text)  # SuspendReason while suspended
    renewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the last renewal, any source
    # Renewals ever made of this VMID (never reset): numbers each renewal's ledger key.
    renewals: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    network_refs: Mapped[dict | None] = mapped_column(JSONB)  # pfSense object ids, removed on release
    attention: Mapped[str | None] = mapped_column(Text)  # why staff must look before it is sold again
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @property
    def first_ip(self) -> str | None:
        """The address in use: the first one set (legacy arrays may hold NULLs and spaces)."""
        return next((ip.strip() for ip in self.ips or [] if ip and ip.strip()), None)

    @property
    def is_free(self) -> bool:
        return not self.busy and self.attention is None

    def __repr__(self) -> str:
        return f"<Server {self.id} {self.os} busy={self.busy}>"


class ServerAddress(db.Model):
    """An address (public or LAN) claimed by one server row; a trigger keeps it in step with servers.

    The primary key is what makes two servers with one address impossible, even under concurrency.
    """

    __tablename__ = "server_addresses"
    __table_args__ = (CheckConstraint("kind IN ('public', 'lan')", name="ck_server_addresses_kind"),)

    kind: Mapped[str] = mapped_column(Text, primary_key=True)  # 'public' (an element of ips) or 'lan'
    address: Mapped[str] = mapped_column(Text, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"), index=True)


class ServerEvent(db.Model):
    """One step of a server's life (reminded, renewed, suspended, wiped...), shown on its console page."""

    __tablename__ = "server_events"
    __table_args__ = (Index("ix_server_events_server_id_id", "server_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(Text)  # the owner at the time
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    detail: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())  # set in Python too


class ServerWipe(db.Model):
    """Wiping a VM before it returns to the pool; retries resume at the first step not done."""

    __tablename__ = "server_wipes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)  # WipeReason
    previous_owner: Mapped[str | None] = mapped_column(Text)  # users.username it was taken from
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(Text, server_default=text("'pending'"), index=True)  # RunState
    steps_done: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    current_step: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def is_final(self) -> bool:
        return self.state in ("done", "failed")

"""Servers: one row per Proxmox VM of the pool (`servers.id` IS the VMID)."""
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, Text, func, text
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
    rented_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    network_refs: Mapped[dict | None] = mapped_column(JSONB)  # pfSense object ids, removed on release
    attention: Mapped[str | None] = mapped_column(Text)  # why staff must look before it is sold again
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @property
    def first_ip(self) -> str | None:
        return self.ips[0] if self.ips else None

    @property
    def is_free(self) -> bool:
        return not self.busy and self.attention is None

    def __repr__(self) -> str:
        return f"<Server {self.id} {self.os} busy={self.busy}>"

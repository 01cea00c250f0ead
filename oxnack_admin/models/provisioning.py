"""Provisioning runs: a paid order on its way to a running VM, step by step."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Integer, Numeric, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .enums import RunState


class ProvisioningRun(db.Model):
    """One order's provisioning; retries resume at the first step that is not done."""

    __tablename__ = "provisioning_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id"), index=True)
    kind: Mapped[str] = mapped_column(Text, server_default=text("'order'"))  # RunKind
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    order_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    refund_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    cores: Mapped[int] = mapped_column(Integer)
    ram: Mapped[int] = mapped_column(Integer)  # GB
    hdd: Mapped[int] = mapped_column(Integer)  # GB
    os: Mapped[str] = mapped_column(Text)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    promo: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default=text("'pending'"), index=True)  # RunState
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    steps: Mapped[list["ProvisioningStep"]] = relationship(
        back_populates="run", order_by="ProvisioningStep.position", cascade="all, delete-orphan"
    )

    @property
    def is_final(self) -> bool:
        return self.state in (RunState.DONE, RunState.FAILED)


class ProvisioningStep(db.Model):
    __tablename__ = "provisioning_steps"
    __table_args__ = (UniqueConstraint("run_id", "name", name="uq_provisioning_steps_run_id_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("provisioning_runs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)  # ProvisioningStepName
    state: Mapped[str] = mapped_column(Text, server_default=text("'pending'"))  # RunState
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSONB)  # what a later retry or a release needs
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    run: Mapped[ProvisioningRun] = relationship(back_populates="steps")

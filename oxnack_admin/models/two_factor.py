"""Staff two-factor sign-in: a TOTP secret (sealed) per member and their single-use recovery codes."""
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class StaffTwoFactor(db.Model):
    """One member's TOTP: pending until confirmed with a code; the row is locked while a code is checked."""

    __tablename__ = "staff_two_factor"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    secret_sealed: Mapped[str] = mapped_column(Text)  # services/sealed.py: a database copy alone does not reveal it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The 30-second step of the last code accepted: that code, or an earlier one, is refused (replay).
    last_step: Mapped[int | None] = mapped_column(BigInteger)
    failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class StaffRecoveryCode(db.Model):
    """A recovery code, stored as its argon2 hash; used once."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(Text)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

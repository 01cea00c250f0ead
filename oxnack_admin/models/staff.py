"""Staff accounts for the console, kept apart from customers, and their API tokens."""
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .enums import StaffRole

# Each role can do everything the roles before it can.
ROLE_RANK = {StaffRole.SUPPORT: 1, StaffRole.ADMIN: 2, StaffRole.OWNER: 3}


def role_at_least(role: StaffRole | str, needed: StaffRole | str) -> bool:
    """Does `role` rank at or above `needed` (for console sessions and API tokens alike)?"""
    return ROLE_RANK.get(StaffRole(role), 0) >= ROLE_RANK[StaffRole(needed)]


class Staff(UserMixin, db.Model):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)  # StaffRole
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # In every console session of this member; bumped to end them all (sign-out, password, deactivation).
    session_generation: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger)  # where a newsletter's test goes over Telegram

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: the id and the generation it was signed in under."""
        return f"{self.id}.{self.session_generation or 0}"

    def end_all_sessions(self) -> None:
        """Every console session of this member stops working at its next request (the caller commits)."""
        self.session_generation = (self.session_generation or 0) + 1

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return bool(self.active)

    def has_role(self, needed: StaffRole | str) -> bool:
        return role_at_least(self.role, needed)


class StaffApiToken(db.Model):
    """A bearer token for staff JSON calls; only its SHA-256 is stored. It acts with its owner's current role."""

    __tablename__ = "staff_api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    prefix: Mapped[str] = mapped_column(Text)  # the token's first characters, so staff can tell tokens apart
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    staff: Mapped[Staff] = relationship()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

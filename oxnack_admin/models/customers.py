"""Customers (the legacy `users` table) and their login sessions."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, Numeric, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class User(db.Model):
    """A customer. Columns up to `name` are the legacy ones, names and typos kept."""

    __tablename__ = "users"
    # One account logs in per address, whatever its case (registration checks this under
    # concurrency); legacy duplicates stay, flagged `duplicate_mail`, until staff resolve them.
    __table_args__ = (
        Index("uq_users_mail_lower", func.lower(func.btrim(text("mail"))), unique=True,
              postgresql_where=text("NOT duplicate_mail AND btrim(mail) <> ''")),
        # An unknown session cookie is tried as a legacy one: found by index, never by a scan.
        # Servers name their owner by username: two users must never share one.
        Index("uq_users_username", "username", unique=True),
        Index("ix_users_legacy_cookie", "cookie", postgresql_where=text("cookie IS NOT NULL")),
        # The console's "contains" search (ILIKE '%q%') by trigrams, not by reading every customer.
        *(Index(f"ix_users_{column}_trgm", column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})
          for column in ("mail", "username", "tg_username")),
        *(Index(f"ix_users_{column}_trgm", column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"},
                postgresql_where=text(f"{column} IS NOT NULL")) for column in ("legacy_mail", "legacy_username")),
        # The few flagged accounts, where counting the shared addresses starts.
        Index("ix_users_duplicate_mail_key", func.lower(func.btrim(text("mail"))), postgresql_where=text("duplicate_mail")),
        Index("ix_users_tg_id", "tg_id"),
        Index("ix_users_mail_id", "mail", "id"),  # the console's listing sorted by mail
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str | None] = mapped_column(Text)  # hex of id for site users; servers' owner key
    mail: Mapped[str | None] = mapped_column(Text)
    passwd_hash: Mapped[str | None] = mapped_column(Text)  # argon2, or a legacy sha256 until next login
    is_verified: Mapped[bool | None] = mapped_column(Boolean, server_default=text("false"))
    cookie: Mapped[str | None] = mapped_column(Text)  # legacy single session; consumed at first use
    tg_id: Mapped[int | None] = mapped_column(BigInteger)
    tg_username: Mapped[str | None] = mapped_column(Text)
    balance: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), server_default=text("0"))
    use: Mapped[bool | None] = mapped_column(Boolean, server_default=text("false"))
    date_start: Mapped[str | None] = mapped_column(Text)  # 'dd.mm.yyyy'
    date_stop: Mapped[str | None] = mapped_column(Text)
    token: Mapped[str | None] = mapped_column(Text)
    ref_id: Mapped[int | None] = mapped_column(BigInteger)
    sub: Mapped[bool | None] = mapped_column(Boolean, server_default=text("false"))
    expires_at: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    # Added by Oxnack Admin.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    blocked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # set: no login, no orders
    # Another account with the same address logs in by it (legacy data); this one cannot, by mail.
    duplicate_mail: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)
    legacy_mail: Mapped[str | None] = mapped_column(Text)  # the address staff moved aside from this account
    legacy_username: Mapped[str | None] = mapped_column(Text)  # the username adoption had to rename
    newsletters_off_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # /stop or the unsubscribe link

    sessions: Mapped[list["UserSession"]] = relationship(back_populates="user", cascade="all, delete-orphan", passive_deletes=True)

    @property
    def is_blocked(self) -> bool:
        return self.blocked_at is not None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.mail or self.tg_username}>"


# The listing sorted by mail, newest-style (descending, NULLs last, the default direction), and
# read backwards for its far pages: ix_users_mail_id serves only the ascending order.
Index("ix_users_mail_desc_id", User.mail.desc().nulls_last(), User.id.desc())


class UserSession(db.Model):
    """One signed-in device. Only a SHA-256 of the cookie token is stored."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ip: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship(back_populates="sessions")

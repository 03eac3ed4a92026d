"""Staff accounts, their stores, their sessions and every sign-in attempt."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from memberkit.db import Base
from memberkit.kit.time import utcnow
from memberkit.kit.types import UTCDateTime


class StaffUser(Base):
    """A person who works the console or the till. Never deleted: disabled, so history names them.

    ``username_key`` (the username in lower case) is unique per program, so usernames ignore
    case. ``password_hash`` is Argon2id in its encoded form, parameters included.
    """

    __tablename__ = "staff_users"
    __table_args__ = (UniqueConstraint("program_id", "username_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    username: Mapped[str] = mapped_column(String(32))
    username_key: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when someone else chose the password (an admin making the account or resetting
    #: it): the account must choose its own at its next sign-in before it does anything else.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffStore(Base):
    """A store a store manager or cashier acts for."""

    __tablename__ = "staff_stores"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)


class StaffSession(Base):
    """A signed-in browser. Only the SHA-256 of its token is kept; the cookie holds the token.

    It ends ``settings.staff_idle_minutes`` after ``last_seen_at`` or
    ``settings.staff_session_hours`` after ``created_at``, whichever comes first; signing out
    deletes it.
    """

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class LoginOutcome(StrEnum):
    """How a sign-in attempt ended; only ``failed`` ones count towards a lock-out."""

    ok = "ok"
    failed = "failed"
    locked = "locked"  # refused unchecked: the account was locked
    limited = "limited"  # refused unchecked: the address failed too often
    disabled = "disabled"  # the right password of a disabled account


class LoginAttempt(Base):
    """One sign-in attempt: the name typed (as a keyed hash), the account, address and outcome.

    Never the name itself: it may be a password typed into the wrong field.
    """

    __tablename__ = "staff_login_attempts"
    __table_args__ = (
        Index("ix_staff_login_attempts_account", "program_id", "username_hash", "at"),
        Index("ix_staff_login_attempts_ip", "program_id", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    username_hash: Mapped[str] = mapped_column(String(64))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    ip: Mapped[str] = mapped_column(String(45))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    outcome: Mapped[str] = mapped_column(String(16))

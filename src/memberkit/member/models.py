"""Members (会员). Phone, name, e-mail and birthday are stored encrypted (AES-GCM)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from memberkit.db import Base
from memberkit.kit.time import utcnow
from memberkit.kit.types import UTCDateTime


class Channel(StrEnum):
    """Where a member registered or an order was placed."""

    store = "store"
    online = "online"
    mini_program = "mini_program"


class MemberStatus(StrEnum):
    """Lifecycle of a membership: frozen members neither earn nor spend."""

    active = "active"
    frozen = "frozen"
    closed = "closed"


class Member(Base):
    """A person enrolled in a program."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("program_id", "member_no"),
        UniqueConstraint("program_id", "phone_index"),
        UniqueConstraint("program_id", "external_ref"),
        # The console's list: each filter, newest first (keyset on id), and the name search.
        Index("ix_members_program_store", "program_id", "store_id", "id"),
        Index("ix_members_program_tier", "program_id", "tier_code", "id"),
        Index("ix_members_program_status", "program_id", "status", "id"),
        Index("ix_members_program_created", "program_id", "created_at", "id"),
        Index("ix_members_program_name", "program_id", "name_index"),
        # Segment counts and their previews (first members by id); a gender rule.
        Index("ix_members_program_id", "program_id", "id"),
        Index("ix_members_program_gender", "program_id", "gender", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    member_no: Mapped[str] = mapped_column(String(20))
    # HMAC of the normalized phone: exact look-up without storing the phone in clear.
    phone_index: Mapped[str] = mapped_column(String(64))
    phone_enc: Mapped[str] = mapped_column(Text)
    name_enc: Mapped[str | None] = mapped_column(Text)
    # HMAC of the normalized full name (exact search); None: no name, or not reindexed yet.
    name_index: Mapped[str | None] = mapped_column(String(64))
    email_enc: Mapped[str | None] = mapped_column(Text)
    birthday_enc: Mapped[str | None] = mapped_column(Text)
    gender: Mapped[str | None] = mapped_column(String(8))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    channel: Mapped[str] = mapped_column(String(32), default="store")
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    # The member's tags as the API shows them; ``member_tags`` holds them again, one row each,
    # written in the same transaction, for the search by tag.
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.active)
    # The tier's code on the ladder (never its position), since when, and its next review.
    # Registration sets the entry tier's code; the empty default only lets the column be
    # added in place on SQLite (see migration 0007).
    tier_code: Mapped[str] = mapped_column(String(32), server_default="")
    tier_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tier_review_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # The merchant's old system's customer id (set by the history import), unique per program.
    external_ref: Mapped[str | None] = mapped_column(String(64))
    qr_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    qr_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MemberTag(Base):
    """One tag of one member: the searchable copy of ``Member.tags``, kept in step with it."""

    __tablename__ = "member_tags"
    __table_args__ = (Index("ix_member_tags_tag", "program_id", "tag", "member_id"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))

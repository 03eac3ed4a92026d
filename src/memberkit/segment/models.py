"""Segments (分群): rule or static sets of members, their members and who entered or left when."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from memberkit.db import Base
from memberkit.kit.time import utcnow
from memberkit.kit.types import UTCDateTime


class SegmentKind(StrEnum):
    """A rule segment is computed from its definition; a static one is a list kept as given."""

    rule = "rule"
    static = "static"


class MembershipChange(StrEnum):
    """What happened to a member's membership of a segment."""

    entered = "entered"
    left = "left"


class Segment(Base):
    """A named set of a program's members; ``member_count`` caches ``segment_members``."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("program_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(16))
    #: The rule tree as sent (:mod:`memberkit.segment.tree`); None for a static segment.
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: An archived segment is no longer refreshed nor listed; its history stays.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SegmentMember(Base):
    """A member in a segment now, since when."""

    __tablename__ = "segment_members"
    __table_args__ = (Index("ix_segment_members_member", "member_id"),)

    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime)


class SegmentMembershipEvent(Base):
    """A member entered or left a segment at a moment: the membership's history, kept."""

    __tablename__ = "segment_membership_events"
    __table_args__ = (
        Index("ix_segment_membership_events_segment", "segment_id", "id"),
        Index("ix_segment_membership_events_member", "member_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    change: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

"""The audit log: one row per change made by a person, never updated or deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from memberkit.db import Base
from memberkit.kit.types import UTCDateTime


class AuditEntry(Base):
    """Who changed what, from where, and the subject before and after.

    ``before`` and ``after`` hold the subject's data with personal data masked
    (:mod:`memberkit.audit.rules`); ``sealed``, when masking changed something, the values as
    they were, encrypted (AES-GCM) and bound to the entry's ``uid``. The table refuses
    updates (a trigger, from migration 0010).
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_actor", "program_id", "actor_id", "id"),
        Index("ix_audit_entries_subject", "program_id", "subject_type", "subject_id", "id"),
        Index("ix_audit_entries_action", "program_id", "action", "id"),
        Index("ix_audit_entries_at", "program_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    actor_name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    sealed: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))

"""Request and response models of the audit log (pydantic)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from memberkit.audit import service
from memberkit.audit.rules import ACTION_MAX, SUBJECT_ID_MAX, SUBJECT_TYPE_MAX
from memberkit.kit.schemas import Input, LocalTime, QueryDate
from memberkit.kit.time import start_of_local_day


class AuditQuery(Input):
    """Filters of the audit log; ``since`` and ``until`` are days of the program's calendar."""

    actor_id: int | None = Field(default=None, ge=1)
    action: str | None = Field(default=None, max_length=ACTION_MAX)
    subject_type: str | None = Field(default=None, max_length=SUBJECT_TYPE_MAX)
    subject_id: str | None = Field(default=None, max_length=SUBJECT_ID_MAX)
    since: QueryDate | None = None
    until: QueryDate | None = Field(default=None, description="inclusive")

    def filters(self, tz: ZoneInfo) -> service.AuditFilter:
        """Return the filter of these fields, the days taken in ``tz`` (``until`` included)."""
        return service.AuditFilter(
            actor_id=self.actor_id,
            action=self.action or None,
            subject_type=self.subject_type or None,
            subject_id=self.subject_id or None,
            since=start_of_local_day(self.since, tz) if self.since else None,
            until=start_of_local_day(self.until + timedelta(days=1), tz) if self.until else None,
        )


class AuditEntryOut(BaseModel):
    """One entry of the audit log."""

    id: int
    at: LocalTime
    actor_id: int | None
    actor_name: str
    action: str
    subject_type: str
    subject_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    ip: str | None
    user_agent: str | None
    unmasked: bool
    unreadable: bool

    @classmethod
    def of(cls, view: service.EntryView) -> AuditEntryOut:
        """Build from the service's view."""
        return cls(**vars(view))


class AuditPageOut(BaseModel):
    """A page of entries, newest first; pass ``next_after`` as ``after`` for the next."""

    items: list[AuditEntryOut]
    next_after: int | None

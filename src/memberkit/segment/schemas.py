"""Request and response models of segments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from memberkit.segment.models import SegmentKind


class SegmentIn(BaseModel):
    """A new segment: a rule segment gives its definition, a static one none."""

    name: str = Field(min_length=1, max_length=80)
    description: str = Field(default="", max_length=500)
    kind: SegmentKind = SegmentKind.rule
    definition: dict[str, Any] | None = None


class SegmentPatch(BaseModel):
    """What may change of a segment."""

    name: str | None = Field(default=None, min_length=1, max_length=80)
    description: str | None = Field(default=None, max_length=500)
    definition: dict[str, Any] | None = None


class SegmentOut(BaseModel):
    """A segment as the API shows it."""

    id: int
    name: str
    description: str
    kind: SegmentKind
    definition: dict[str, Any] | None
    member_count: int
    refreshed_at: datetime | None
    created_by: str
    created_at: datetime


class CountIn(BaseModel):
    """A definition to count, saved or not."""

    definition: dict[str, Any]


class MemberBrief(BaseModel):
    """A member in a segment's list or preview, personal data masked as the member API does."""

    member_no: str
    phone: str
    name: str | None
    tier: str
    store: str | None
    since: datetime | None = None


class CountOut(BaseModel):
    """How many members a definition selects now, and the first 20 of them."""

    count: int
    preview: list[MemberBrief]


class MembersOut(BaseModel):
    """A page of a segment's members; ``next_after`` asks for the next page."""

    total: int
    items: list[MemberBrief]
    next_after: int | None


class HistoryItem(BaseModel):
    """One entry or exit."""

    member_no: str
    change: str
    at: datetime


class HistoryOut(BaseModel):
    """A page of a segment's history, newest first; ``next_before`` asks for the next page."""

    items: list[HistoryItem]
    next_before: int | None


class RefreshOut(BaseModel):
    """What a refresh moved."""

    entered: int
    left: int
    member_count: int


class UploadIn(BaseModel):
    """Members of a static segment, one card number or phone per line (a CSV's first column)."""

    lines: list[str] = Field(max_length=100_000)


class UploadOut(BaseModel):
    """What an upload added, and the lines that named no member."""

    added: int
    found: int
    unknown: list[str]


class ReadyOut(BaseModel):
    """A ready segment to start from: its rule, named in the request's language."""

    key: str
    name: str
    description: str
    definition: dict[str, Any]

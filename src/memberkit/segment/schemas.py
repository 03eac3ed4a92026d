"""Request and response models of segments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from memberkit.kit.schemas import ONE_LINE
from memberkit.segment.models import SegmentKind

#: A segment's name and description: one line, no control characters or direction overrides.
Name = Annotated[str, Field(min_length=1, max_length=80), ONE_LINE]
Description = Annotated[str, Field(max_length=500), ONE_LINE]


class SegmentIn(BaseModel):
    """A new segment: a rule segment gives its definition, a static one none.

    Unknown fields are refused. (Not :class:`memberkit.kit.schemas.Input`: a definition nests
    deeper than its bound; :func:`memberkit.segment.tree.parse` bounds it instead.)
    """

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = ""
    kind: SegmentKind = SegmentKind.rule
    definition: dict[str, Any] | None = None


class SegmentPatch(BaseModel):
    """What may change of a segment (not its kind); unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
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

"""Request models of members, shared by the API and the CSV importer (one set of checks)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field

from memberkit.kit.schemas import Input
from memberkit.order.models import Channel

Gender = Annotated[str, Field(pattern="^(male|female|unknown)$")]
Tag = Annotated[str, Field(min_length=1, max_length=32)]


class MemberIn(Input):
    """A registration."""

    phone: str = Field(max_length=20, examples=["13800138000"])
    name: str | None = Field(default=None, max_length=50)
    gender: Gender | None = None
    birthday: date | None = None
    email: str | None = Field(default=None, max_length=254)
    store_code: str | None = Field(default=None, max_length=32)
    channel: Channel = Channel.store
    referrer_member_no: str | None = Field(default=None, max_length=20)
    tags: list[Tag] = Field(default_factory=list, max_length=50)

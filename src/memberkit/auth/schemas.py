"""Request and response models of the auth API (pydantic)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from memberkit.auth import service
from memberkit.auth.models import Scope
from memberkit.kit.schemas import Input, LocalTime, PlainText


class ApiKeyIn(Input):
    """A key to issue: who uses it, what it may do, and optionally the one store it acts for."""

    name: PlainText = Field(min_length=1, max_length=100, examples=["POS SH001 till 1"])
    scope: Scope
    store_code: str | None = Field(default=None, max_length=32)


class ApiKeyOut(BaseModel):
    """A key as it may be shown: its prefix, never the key itself."""

    id: int
    prefix: str
    name: str
    scope: str
    store_code: str | None
    created_at: LocalTime
    revoked_at: LocalTime | None

    @classmethod
    def of(cls, info: service.KeyInfo) -> ApiKeyOut:
        """Build from the service's description."""
        return cls(**vars(info))


class IssuedKeyOut(ApiKeyOut):
    """A key just issued: ``key`` is shown this once and never again."""

    key: str

"""Request and response models of the store API (pydantic)."""

from __future__ import annotations

from pydantic import BaseModel, Field, StrictBool

from memberkit.kit.schemas import Input, LocalTime, Page, PlainText
from memberkit.store.models import Store, StoreType


class StoreIn(Input):
    """A new store."""

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    name: PlainText = Field(min_length=1, max_length=100)
    type: StoreType = StoreType.direct
    city: PlainText = Field(default="", max_length=50)
    active: StrictBool = True


class StoreOut(BaseModel):
    """A store."""

    code: str
    name: str
    type: StoreType
    city: str
    active: bool
    created_at: LocalTime

    @classmethod
    def of(cls, store: Store) -> StoreOut:
        """Build from a model."""
        return cls(
            code=store.code,
            name=store.name,
            type=StoreType(store.type),
            city=store.city,
            active=store.active,
            created_at=store.created_at,
        )


class StoreList(BaseModel):
    """A page of stores."""

    items: list[StoreOut]
    page: Page

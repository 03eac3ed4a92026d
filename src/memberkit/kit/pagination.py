"""Keyset pagination: a page of rows and where the next page starts, never an offset."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

#: The most rows one page may ask for.
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page, newest or first rows first; ``next_after`` starts the next, None on the last."""

    items: list[T]
    next_after: int | None


def page_of(rows: Sequence[T], *, limit: int, key: Callable[[T], int]) -> Page[T]:
    """Cut ``rows`` (fetched with ``limit + 1``) to a page; the extra row says another follows."""
    items = list(rows[:limit])
    more = len(rows) > limit and bool(items)
    return Page(items, key(items[-1]) if more else None)

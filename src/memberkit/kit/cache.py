"""Values kept a short while in this process: figures too costly to compute on every page."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

_ALL: list[Expiring[object]] = []


class Expiring(Generic[T]):
    """Values by key, each computed at most once per ``seconds`` in this process.

    For reads that may be a little behind (a dashboard says "as of" when they were computed);
    never for anything a decision is taken on.
    """

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._values: dict[Hashable, tuple[float, T]] = {}
        self._lock = threading.Lock()
        _ALL.append(self)  # type: ignore[arg-type]

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value of ``key``: the one kept if younger than ``seconds``, else computed now."""
        now = self._clock()
        with self._lock:
            kept = self._values.get(key)
        if kept is not None and now - kept[0] < self.seconds:
            return kept[1]
        value = compute()
        with self._lock:
            self._values[key] = (now, value)
        return value

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._values.clear()


def forget_all() -> None:
    """Forget the values of every cache (between test databases)."""
    for cache in _ALL:
        cache.clear()

"""Values kept a short while: computed once per period and key, forgotten on demand."""

from __future__ import annotations

from memberkit.kit.cache import Expiring, forget_all


def test_a_value_is_computed_once_a_period_per_key_and_forgotten_on_demand() -> None:
    # given a cache of values kept 60 seconds on a clock of ours, and a computation that
    # counts its calls
    now = [1000.0]
    cache: Expiring[int] = Expiring(60, clock=lambda: now[0])
    calls: list[str] = []

    def compute(key: str) -> int:
        calls.append(key)
        return len(calls)

    # when asked twice for a key, then once for another, within the period
    first = cache.get("a", lambda: compute("a"))
    now[0] += 59
    again = cache.get("a", lambda: compute("a"))
    other = cache.get("b", lambda: compute("b"))
    # then each key was computed once
    assert (first, again, other, calls) == (1, 1, 2, ["a", "b"])

    # when the period has passed, then the key is computed again
    now[0] += 2
    assert cache.get("a", lambda: compute("a")) == 3

    # and once every cache is forgotten, it is computed again at once
    forget_all()
    assert cache.get("a", lambda: compute("a")) == 4

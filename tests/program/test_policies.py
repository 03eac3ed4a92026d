"""Program policies: defaults and validation (no database)."""

from __future__ import annotations

import pytest

from memberkit.program.policies import DEFAULT_POLICIES, Policies, PoliciesError, parse_policies


def test_omitted_policies_take_their_documented_defaults() -> None:
    assert parse_policies(None) == Policies(30, False, 30)
    assert parse_policies({"backdate_days": 7}) == Policies(7, False, 30)
    assert parse_policies({}).config() == DEFAULT_POLICIES
    assert parse_policies({"backdate_days": 1}) == Policies(1, False, 30)


@pytest.mark.parametrize(
    "config",
    [
        {"backdate_days": -1},
        {"backdate_days": 0},
        {"backdate_days": 3651},
        {"backdate_days": "30"},
        {"backdate_days": True},
        {"backdate_days": 1.5},
        {"idempotency_retention_days": 0},
        {"cross_store_returns": "yes"},
        {"cross_store_returns": 1},
        {"unknown": 1},
    ],
)
def test_bad_policies_are_refused(config: dict[str, object]) -> None:
    with pytest.raises(PoliciesError):
        parse_policies(config)

"""Pure program policies: how far back live requests may be dated, who may refund what, retention.

Stored per program as ``{"backdate_days": 30, "cross_store_returns": false,
"idempotency_retention_days": 30}``; omitted fields take these defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from memberkit.kit.i18n import TextError, _

DEFAULT_POLICIES: dict[str, Any] = {
    "backdate_days": 30,
    "cross_store_returns": False,
    "idempotency_retention_days": 30,
}


class PoliciesError(TextError):
    """A policy value that does not make sense."""


@dataclass(frozen=True)
class Policies:
    """A program's operating policies.

    ``backdate_days``: how many days before now a live order, refund, recharge or behaviour
    event may be dated (offline tills catching up); older history comes in by import. At
    least 1: with 0, network delay would put every live request's "now" in the past.
    ``cross_store_returns`` (异店退货): whether a store-bound key may refund another store's
    order. ``idempotency_retention_days``: how long stored first responses are kept.
    """

    backdate_days: int = 30
    cross_store_returns: bool = False
    idempotency_retention_days: int = 30

    def config(self) -> dict[str, Any]:
        """Return the policies in their canonical stored form."""
        return asdict(self)


def _whole(config: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = config.get(name, DEFAULT_POLICIES[name])
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PoliciesError(
            _("{name} must be a whole number from {low} to {high}"), name=name, low=low, high=high
        )
    return value


def parse_policies(config: Mapping[str, Any] | None) -> Policies:
    """Build policies from JSON (None: the defaults); raise :class:`PoliciesError`."""
    config = config or {}
    unknown = set(config) - set(DEFAULT_POLICIES)
    if unknown:
        raise PoliciesError(
            _("unknown policies: {unknown}"), unknown=", ".join(sorted(map(str, unknown)))
        )
    cross_store = config.get("cross_store_returns", False)
    if not isinstance(cross_store, bool):
        raise PoliciesError(_("cross_store_returns must be true or false"))
    return Policies(
        backdate_days=_whole(config, "backdate_days", 1, 3650),
        cross_store_returns=cross_store,
        idempotency_retention_days=_whole(config, "idempotency_retention_days", 1, 3650),
    )

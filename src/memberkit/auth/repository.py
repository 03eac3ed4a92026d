"""The one statement of the per-request revocation check, outside any transaction."""

from __future__ import annotations

from sqlalchemy import Engine

from memberkit.db import peek


def key_is_live(engine: Engine, key_id: int) -> bool:
    """Tell whether API key ``key_id`` exists and is not revoked, as committed now."""
    return (
        peek(engine, "SELECT 1 FROM api_keys WHERE id = ? AND revoked_at IS NULL", key_id)
        is not None
    )

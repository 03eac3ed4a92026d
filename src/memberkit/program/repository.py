"""SQL of programs that runs outside a unit of work: the per-request settings check."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from memberkit.db import peek


def settings_version(engine: Engine, program_id: int) -> Any:
    """Return the program's settings version as committed now (its ``updated_at``)."""
    row = peek(engine, "SELECT updated_at FROM programs WHERE id = ?", program_id)
    return row[0] if row is not None else None

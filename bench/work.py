"""Python function calls and SQL statements per order on the service path: work, not time.

Timed figures on a shared 2-core machine swing by ±30 % between runs (SQLite's fsync most of
all); the work an order costs does not. This posts 500 orders through the service path of
``bench/earn.py`` on SQLite under cProfile and counts calls and cursor executions per order.

    .venv/bin/python bench/work.py
"""

from __future__ import annotations

import cProfile
import pstats
import tempfile
from pathlib import Path

from sqlalchemy import event

import earn

ORDERS = 500


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        setup = earn.prepare("sqlite", f"sqlite:///{tmp}/work.db", Path(tmp), members=200)
        earn.service(setup, [f"W-{n}" for n in range(200)])
        statements = 0

        def count(*_args: object, **_kwargs: object) -> None:
            nonlocal statements
            statements += 1

        event.listen(setup.database.engine, "before_cursor_execute", count)
        profiler = cProfile.Profile()
        profiler.enable()
        earn.service(setup, [f"P-{n}" for n in range(ORDERS)])
        profiler.disable()
        setup.database.dispose()
    calls = pstats.Stats(profiler).total_calls  # type: ignore[attr-defined]
    print(
        f"{calls / ORDERS:.0f} Python calls and {statements / ORDERS:.1f} SQL statements "
        "per order (service path, SQLite)"
    )


if __name__ == "__main__":
    main()

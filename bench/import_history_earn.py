"""What earning history costs: the same N orders imported with ``earn: none`` and ``earn: all``.

The orders of ``bench/import_orders.py`` (20,000 members, 5 stores, 1990–2025, a third by card,
a third by phone, a third to no member) go into two fresh databases: one with the default
``history`` section (the importer's multi-row fast path, nothing earned), one with
``earn: all`` (the same batches, then each member's order through the member pipeline: lock,
decide, post its lot — most are born expired, being years old — and the tier reaction).

    .venv/bin/python bench/import_history_earn.py [--orders 10000] [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import sys
import time

from import_orders import fresh, members_of, rows
from memberkit import pipeline
from memberkit.ledger import check as ledger_check
from memberkit.order import importer
from memberkit.program import service as program_service


def timed(url: str | None, n: int, earn: str) -> tuple[float, importer.ImportResult]:
    """Seconds to import N orders on a fresh database whose history section earns ``earn``."""
    with fresh(url) as database:
        with database.session_scope() as session:
            program = program_service.get(session)
            program_service.store(
                session,
                program=program,
                values={"history": {"earn": earn, "counts_for_tiers": False}},
            )
        cards, phones, _ids = members_of(database)
        started = time.perf_counter()
        result = importer.import_rows(database, rows(n, cards, phones))
        seconds = time.perf_counter() - started
        # The after-commit work (RFM rows, segments) of the members touched, off the clock.
        pipeline.BACKGROUND.settle(timeout=600)
        if result.errors or result.orders != n:
            sys.exit(f"import went wrong: {result.orders} orders, errors {result.errors[:3]}")
        with database.session_scope(read_only=True) as session:
            report = ledger_check.check(session)
        if not report.ok:
            sys.exit(f"ledger check failed: {report.problems[:3]}")
        database.dispose()
    return seconds, result


def main() -> None:
    """Run both imports and print seconds, rows per second and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    name = "postgresql" if args.database_url else "sqlite"
    none_s, _ = timed(args.database_url, args.orders, "none")
    all_s, result = timed(args.database_url, args.orders, "all")
    for label, seconds in (("earn none", none_s), ("earn all", all_s)):
        print(
            f"{name:10s} {label:9s} {args.orders:>7,d} orders in {seconds:6.2f} s"
            f"  {args.orders / seconds:8,.0f} rows/s"
        )
    print(
        f"{name:10s} earn all is {all_s / none_s:.1f}x earn none; earned "
        f"{result.points_earned:,d} points and {result.growth_earned:,d} growth "
        f"({args.orders - result.non_member_orders:,d} member orders)"
    )


if __name__ == "__main__":
    main()

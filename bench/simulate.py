"""Benchmark: the tier simulator on a million members (PostgreSQL).

Fills a fresh database (``memberkit_bench_<random>``, dropped afterwards) with N members, each
with a growth balance from a long-tailed distribution and a tier, and about half of them with
an order in the last 30 days; then times the simulator (growth thresholds, and growth with a
30-day spend alternative) beside a baseline in the same run: one plain scan that counts the
same members by growth bucket. Prints seconds and the ratio to the baseline.

    MEMBERKIT_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/simulate.py [--members 1000000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import text

from memberkit import migrate
from memberkit.config import configure
from memberkit.db import get_database
from memberkit.program import service as program_service
from memberkit.tier.simulate import Proposal, simulate
from scratch import postgres_database

FILL = [
    # members: a long-tailed growth balance decides the tier today
    """
    INSERT INTO members (program_id, member_no, phone_index, phone_enc, channel, tags, status,
                         tier_level, created_at, updated_at)
    SELECT :program, '8' || lpad(n::text, 11, '0'), md5(n::text), 'v1:bench', 'store', '[]',
           'active', 0, now(), now()
    FROM generate_series(1, :members) AS n
    """,
    """
    INSERT INTO accounts (program_id, member_id, asset, code, balance)
    SELECT :program, id, 'growth', 'member', floor(30000 * power(random(), 4))::bigint
    FROM members
    """,
    """
    UPDATE members m SET tier_level = CASE WHEN a.balance >= 20000 THEN 3
                                          WHEN a.balance >= 5000 THEN 2
                                          WHEN a.balance >= 1000 THEN 1 ELSE 0 END
    FROM accounts a WHERE a.member_id = m.id AND a.asset = 'growth'
    """,
    """
    INSERT INTO orders (program_id, external_id, member_id, channel, occurred_at, total_minor,
                        eligible_minor, points_paid, points_earned, growth_earned, refunded_minor,
                        points_reversed, growth_reversed, points_returned, created_at)
    SELECT :program, 'B-' || id, id, 'store', now() - random() * interval '29 days',
           t.total, t.total, 0, 0, 0, 0, 0, 0, 0, now()
    FROM members, LATERAL (SELECT floor(500000 * power(random(), 3))::bigint AS total) t
    WHERE id % 2 = 0
    """,
    "ANALYZE",
]

BASELINE = """
SELECT CASE WHEN a.balance >= 20000 THEN 3 WHEN a.balance >= 5000 THEN 2
            WHEN a.balance >= 1000 THEN 1 ELSE 0 END AS bucket, count(*)
FROM members m LEFT JOIN accounts a ON a.member_id = m.id AND a.asset = 'growth'
GROUP BY 1
"""


def timed(run: Callable[[], object], repeat: int) -> list[float]:
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("MEMBERKIT_BENCH_DATABASE_URL") or os.environ.get(
        "MEMBERKIT_TEST_DATABASE_URL"
    )
    if not url or not url.startswith("postgresql"):
        sys.exit(
            "set MEMBERKIT_BENCH_DATABASE_URL to a PostgreSQL server (the target is PostgreSQL)"
        )
    with postgres_database(url) as bench_url, tempfile.TemporaryDirectory() as data_dir:
        configure(
            database_url=bench_url, data_dir=data_dir, secret_key="bench-" * 8, scheduler=False
        )
        database = get_database()
        migrate.upgrade(database.engine)
        with database.session_scope() as session:
            program_service.ensure_default(session)
            program = program_service.get(session)
        start = time.perf_counter()
        with database.engine.begin() as connection:
            for statement in FILL:
                connection.execute(
                    text(statement), {"program": program.id, "members": args.members}
                )
        print(f"filled {args.members:,} members in {time.perf_counter() - start:.1f} s")

        def baseline() -> object:
            with database.engine.connect() as connection:
                return connection.execute(text(BASELINE)).all()

        def growth_only() -> object:
            with database.session_scope() as session:
                return simulate(
                    session,
                    program_id=program.id,
                    ladder=program.ladder,
                    proposal=Proposal([800, 4000, 15000]),
                    now=datetime.now(UTC),
                )

        def with_spend() -> object:
            with database.session_scope() as session:
                return simulate(
                    session,
                    program_id=program.id,
                    ladder=program.ladder,
                    proposal=Proposal([800, 4000, 15000], [0, 200_000, 0], 30),
                    now=datetime.now(UTC),
                )

        check = growth_only()
        print(f"members simulated: {check.members:,}")  # type: ignore[attr-defined]
        rows = [("baseline scan", timed(baseline, args.repeat))]
        rows.append(("simulate (growth)", timed(growth_only, args.repeat)))
        rows.append(("simulate (growth or 30-day spend)", timed(with_spend, args.repeat)))
        base = statistics.median(rows[0][1])
        print(f"{'query':<36}{'median s':>10}{'best s':>10}{'vs baseline':>13}")
        for name, seconds in rows:
            median = statistics.median(seconds)
            print(f"{name:<36}{median:>10.2f}{min(seconds):>10.2f}{median / base:>12.1f}×")


if __name__ == "__main__":
    main()

"""The full RFM refresh, timed beside DuckDB and Polars computing the same figures in the run.

Builds ``--members`` members with about ``--orders`` orders each (spread over three years,
one in twenty partly refunded, one in fifty fully refunded) into a fresh, migrated SQLite file
— and a PostgreSQL database ``memberkit_bench_<random>``, created and dropped, when
``--database-url`` names a server — with Core multi-row inserts. Then, on each database:

  refresh   ``analytics.service.refresh`` end to end, commit included: one ``INSERT … SELECT``
            (the GROUP BY over ``orders``, the quintile ranks, classes and lifecycle) that
            replaces ``member_rfm``, and the cut-offs read back.
  load      the orders read with SQLAlchemy into a Polars DataFrame (what DuckDB and Polars
            are fed: their SQLite/PostgreSQL scanners download extensions at run time).
  duckdb    R, F and M per member by DuckDB over that DataFrame (through Arrow).
  polars    the same by Polars.

The three must agree on every member's frequency and monetary sum and on the total of days
since the last purchase, or the run fails. Prints the times and two ratios: the refresh to
DuckDB's compute alone (R/F/M only: no scores, nothing written), and to DuckDB with its
loading. On PostgreSQL the tables are ANALYZEd after the build, as autovacuum would have.

    .venv/bin/python bench/rfm.py [--members 1000000] [--orders 10]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Needs the ``bench`` extra (``pip install -e '.[bench]'``: duckdb, polars, pyarrow).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from memberkit import migrate
from memberkit.analytics import service
from memberkit.analytics.models import MemberRfm
from memberkit.analytics.settings import ANALYTICS
from memberkit.config import configure
from memberkit.db import Database, get_database
from memberkit.kit.time import start_of_local_day
from memberkit.member.models import Member
from memberkit.order.models import Order
from memberkit.program import service as program_service
from scratch import postgres_database

AS_OF = date(2026, 6, 30)
BATCH = 20_000


def build(database: Database, *, members: int, orders: int, seed: int) -> int:
    """Fill the database; return the number of orders written."""
    rng = random.Random(seed)
    with database.session_scope() as session:
        program_service.ensure_default(session)
        program = program_service.get(session)
    joined = datetime(2023, 1, 1, tzinfo=UTC)
    span = (datetime(2026, 6, 30, tzinfo=UTC) - joined).total_seconds()
    written = 0
    with database.engine.begin() as connection:
        for start in range(0, members, BATCH):
            rows = [
                {
                    "program_id": program.id,
                    "member_no": f"{n:012d}",
                    "phone_index": f"bench-{n}",
                    "phone_enc": "x",
                    "channel": "store",
                    "tags": [],
                    "status": "active",
                    "tier_code": "",
                    "created_at": joined + timedelta(seconds=rng.random() * span * 0.5),
                    "updated_at": joined,
                }
                for n in range(start + 1, min(members, start + BATCH) + 1)
            ]
            connection.execute(insert(Member), rows)
        ids = list(connection.scalars(select(Member.id).order_by(Member.id)))
        chunk: list[dict[str, Any]] = []
        for member_id in ids:
            for _ in range(rng.randint(0, 2 * orders)):
                total = rng.randint(1_000, 50_000)
                roll = rng.random()
                refunded = total if roll < 0.02 else (total // 3 if roll < 0.07 else 0)
                chunk.append(
                    {
                        "program_id": program.id,
                        "external_id": f"B{written}",
                        "member_id": member_id,
                        "channel": "store",
                        "occurred_at": joined + timedelta(seconds=rng.random() * span),
                        "total_minor": total,
                        "eligible_minor": total,
                        "refunded_minor": refunded,
                    }
                )
                written += 1
                if len(chunk) >= BATCH:
                    connection.execute(insert(Order), chunk)
                    chunk = []
        if chunk:
            connection.execute(insert(Order), chunk)
    return written


def load(database: Database) -> Any:
    """Read the orders with SQLAlchemy into a Polars DataFrame (epoch seconds, UTC)."""
    import polars as pl

    columns: dict[str, list[Any]] = {"member_id": [], "ts": [], "total": [], "refunded": []}
    with database.engine.connect() as connection:
        result = connection.execute(
            select(
                Order.member_id, Order.occurred_at, Order.total_minor, Order.refunded_minor
            ).execution_options(yield_per=100_000)
        )
        for member_id, occurred_at, total, refunded in result:
            columns["member_id"].append(member_id)
            columns["ts"].append(int(occurred_at.timestamp()))
            columns["total"].append(total)
            columns["refunded"].append(refunded)
    return pl.DataFrame(columns)


def bounds(database: Database) -> tuple[int, int, int, Any]:
    """The window's start, the day after AS_OF and AS_OF's start (epoch seconds), the zone."""
    with database.session_scope(read_only=True) as session:
        program = program_service.get(session)
    rules = program.section(ANALYTICS)
    tz = program.tz
    window = start_of_local_day(AS_OF - timedelta(days=rules.window_days - 1), tz)
    end = start_of_local_day(AS_OF + timedelta(days=1), tz)
    return int(window.timestamp()), int(end.timestamp()), rules.window_days, tz


def by_duckdb(frame: Any, window: int, end: int) -> dict[int, tuple[int, int, int]]:
    """member → (count, net sum, last purchase epoch) in the window, by DuckDB."""
    import duckdb

    connection = duckdb.connect()
    connection.register("orders", frame)
    rows = connection.sql(
        f"""
        SELECT member_id, count(*), sum(total - refunded), max(ts)
        FROM orders
        WHERE ts < {end} AND ts >= {window} AND NOT (refunded > 0 AND refunded >= total)
        GROUP BY member_id
        """
    ).fetchall()
    return {m: (c, s, last) for m, c, s, last in rows}


def by_polars(frame: Any, window: int, end: int) -> dict[int, tuple[int, int, int]]:
    """The same figures by Polars."""
    import polars as pl

    grouped = (
        frame.filter(
            (pl.col("ts") < end)
            & (pl.col("ts") >= window)
            & ~((pl.col("refunded") > 0) & (pl.col("refunded") >= pl.col("total")))
        )
        .group_by("member_id")
        .agg(
            pl.len().alias("n"),
            (pl.col("total") - pl.col("refunded")).sum().alias("m"),
            pl.col("ts").max().alias("last"),
        )
    )
    return {m: (n, s, last) for m, n, s, last in grouped.iter_rows()}


def run(url: str, args: argparse.Namespace) -> None:
    """Build, refresh, compare on one database."""
    configure(database_url=url, scheduler=False)
    database = get_database()
    migrate.upgrade(database.engine)
    started = time.perf_counter()
    count = build(database, members=args.members, orders=args.orders, seed=args.seed)
    if database.engine.dialect.name == "postgresql":
        # What autovacuum would have done by the nightly refresh: the planner's statistics.
        with database.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    built = time.perf_counter() - started
    print(f"{database.engine.dialect.name}: {args.members:,} members, {count:,} orders "
          f"built in {built:.1f} s")  # fmt: skip

    with database.session_scope(read_only=True) as session:
        program = program_service.get(session)
    started = time.perf_counter()
    with database.session_scope() as session:
        done = service.refresh(session, program=program, as_of=AS_OF)
    refresh = time.perf_counter() - started

    started = time.perf_counter()
    frame = load(database)
    loaded = time.perf_counter() - started
    window, end, _days, tz = bounds(database)
    started = time.perf_counter()
    duck = by_duckdb(frame, window, end)
    ducked = time.perf_counter() - started
    started = time.perf_counter()
    polar = by_polars(frame, window, end)
    polared = time.perf_counter() - started

    with database.session_scope(read_only=True) as session:
        ours = {
            r.member_id: (r.frequency, r.monetary_minor, r.recency_days)
            for r in session.execute(
                select(MemberRfm.member_id, MemberRfm.frequency, MemberRfm.monetary_minor,
                       MemberRfm.recency_days).where(MemberRfm.frequency > 0)
            )
        }  # fmt: skip

    def days(epoch: int) -> int:
        return (AS_OF - datetime.fromtimestamp(epoch, tz).date()).days

    theirs = {m: (c, s, days(last)) for m, (c, s, last) in duck.items()}
    assert ours == theirs, "member_rfm and DuckDB disagree"
    assert {m: (c, s) for m, (c, s, _l) in polar.items()} == {
        m: (c, s) for m, (c, s, _l) in duck.items()
    }, "Polars and DuckDB disagree"
    print(f"  figures agree: {len(ours):,} scored members (of {done.members:,}), "
          f"F total {sum(v[0] for v in ours.values()):,}, "
          f"M total {sum(v[1] for v in ours.values()):,} minor, "
          f"R total {sum(v[2] for v in ours.values()):,} days")  # fmt: skip
    print(f"  refresh, end to end (aggregate, scores, classes, lifecycle, member_rfm written, "
          f"committed) {refresh:8.2f} s")  # fmt: skip
    print(f"  load orders into a DataFrame (SQLAlchemy)   {loaded:8.2f} s")
    print(f"  DuckDB R/F/M over the DataFrame (no scores, nothing written) {ducked:8.2f} s")
    print(f"  Polars R/F/M over the DataFrame             {polared:8.2f} s")
    print(f"  refresh / DuckDB compute: {refresh / ducked:6.1f}×   "
          f"refresh / (load + DuckDB compute): {refresh / (loaded + ducked):4.2f}×")  # fmt: skip


def main() -> None:
    """Parse the options and run on SQLite, then PostgreSQL if asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10, help="orders per member, on average")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--database-url", help="a PostgreSQL server to bench on as well")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as folder:
            run(f"sqlite:///{folder}/rfm.db", args)
            get_database().dispose()
    if args.database_url and args.only != "sqlite":
        with postgres_database(args.database_url) if args.database_url else nullcontext() as url:
            run(url, args)


if __name__ == "__main__":
    main()

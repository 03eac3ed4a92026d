"""Memberkit at scale: 1M members, 10M orders on PostgreSQL, each figure beside DuckDB.

Builds, in a fresh PostgreSQL database ``memberkit_bench_<random>`` (created, migrated with the
project's migrations, dropped at the end), ``--members`` members (1,000,000) and ``--orders``
orders (10,000,000) with server-side ``INSERT … SELECT … FROM generate_series`` and
``random()`` (seeded): 50 stores, members of four tiers with home stores, genders, channels,
referrers and tags (``vip``, ``coffee``), orders after each member's registration (2 % without a
member, 10 % online, one in fifty fully and one in twenty a third refunded: ``refunded_minor``,
which is what every figure here reads), each member's tier upgrade, and a points ledger — one
earn lot per member, redemptions, expiries and stored-value recharges, balanced per asset.

Then times, each beside DuckDB computing the same figures from the same rows (read out of
PostgreSQL with ``COPY … TO STDOUT`` into Arrow: DuckDB's own PostgreSQL scanner downloads an
extension at run time and fails offline), and checks that they agree:

  rfm          ``analytics.service.refresh`` (SQL, scoring, lifecycle, writing ``member_rfm``)
               against DuckDB's F, M and last purchase per member.  Target: within 2×.
  segment ×3   ``segment.service.count`` of ``bench/segment.py``'s three rules (best of 3).
               Target: under 1 s each.
  clv          ``forecast.service.fit`` (SQL summaries, BG/NBD + Gamma-Gamma, holdout fit,
               1M member forecasts written) against DuckDB's summaries plus the same BG/NBD +
               Gamma-Gamma fit (``forecast.rules``).  Target: under 30 s.
  report:*     each report as ``GET /api/v1/reports/<name>`` runs it (``report.reading.run``)
               for 2026-01-01..2026-06-30 by month, against DuckDB's main figures.

The DuckDB column is its compute time; the load (COPY into Arrow, once per table, shared by
the steps that need it) is shown apart. Needs the ``bench`` extra (duckdb, polars, pyarrow).

    .venv/bin/python bench/scale.py [--members 1000000] [--orders 10000000]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--keep] [--url URL] [--steps rfm,segments,clv,sales,points,members]

``--keep`` leaves the built database in place (its URL is printed); ``--url`` measures one kept
earlier without building again (the steps rewrite what they write: ``member_rfm``, the member
forecasts); ``--steps`` measures only those named.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from itertools import pairwise
from time import perf_counter
from typing import Any

import numpy as np
from sqlalchemy import text

from memberkit import migrate
from memberkit.analytics import queries as analytics_queries
from memberkit.analytics import service as analytics_service
from memberkit.analytics.settings import ANALYTICS
from memberkit.config import configure
from memberkit.db import Database, get_database
from memberkit.forecast import rules as forecast_rules
from memberkit.forecast import service as forecast_service
from memberkit.kit.time import shown_in
from memberkit.program import service as program_service
from memberkit.program.service import ProgramConfig
from memberkit.report import reading
from memberkit.report.rules import Grain, buckets
from memberkit.report.service import _bounds
from memberkit.segment import service as segment_service
from rfm import AS_OF
from rfm import bounds as rfm_bounds
from scratch import postgres_database
from segment import COUNTS

DATE_FROM, DATE_TO = date(2026, 1, 1), AS_OF
START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2026, 6, 30, 12, tzinfo=UTC)
STORES = 50
#: An order's moment: within the share of its member's time to the end they keep buying in
#: (all of it for two members in five).
ACTIVE = (
    "(CASE WHEN mb.id % 5 < 2 THEN 1.0 "
    "ELSE 0.1 + 0.9 * ((mb.id::bigint * 2654435761) % 1000) / 1000.0 END)"
)
AT = f"mb.created_at + g.at * {ACTIVE} * (timestamptz '{END.isoformat()}' - mb.created_at)"
RFM_RATIO = 2.0
SEGMENT_SECONDS = 1.0
CLV_SECONDS = 30.0


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as the machine is shared."""
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


# Building


def build(database: Database, program: ProgramConfig, *, members: int, orders: int) -> None:
    """Fill the migrated database server-side; prints each table's seconds."""
    p, m, n = program.id, members, orders
    span = (END - START).total_seconds()
    steps: list[tuple[str, str]] = [
        (
            "stores",
            f"""INSERT INTO stores (id, program_id, code, name, type, city, active,
                    created_at, updated_at)
                SELECT 100 + s, {p}, 'S' || lpad(s::text, 3, '0'), 'Store ' || s,
                       CASE WHEN s % 4 = 0 THEN 'franchise' ELSE 'direct' END, 'Shanghai', true,
                       '{START.isoformat()}', '{START.isoformat()}'
                FROM generate_series(1, {STORES}) s""",
        ),
        (
            "members",
            f"""INSERT INTO members (id, program_id, member_no, phone_index, phone_enc, gender,
                    store_id, channel, referrer_id, tags, status, tier_code, created_at,
                    updated_at)
                SELECT i, {p}, lpad(i::text, 12, '0'), 'bench-' || i, 'x',
                       CASE WHEN r1 < 0.55 THEN 'female' WHEN r1 < 0.95 THEN 'male' END,
                       101 + (i % {STORES}),
                       CASE WHEN r2 < 0.7 THEN 'store' WHEN r2 < 0.9 THEN 'online'
                            ELSE 'mini_program' END,
                       CASE WHEN i > 100 AND r3 < 0.05 THEN 1 + (i::bigint * 7919) % (i - 1) END,
                       CASE WHEN i % 10 = 0 AND i % 7 = 0 THEN '["vip", "coffee"]'::json
                            WHEN i % 10 = 0 THEN '["vip"]'::json
                            WHEN i % 7 = 0 THEN '["coffee"]'::json ELSE '[]'::json END,
                       'active',
                       CASE WHEN r4 < 0.5 THEN 'regular' WHEN r4 < 0.8 THEN 'silver'
                            WHEN r4 < 0.95 THEN 'gold' ELSE 'black' END,
                       joined, joined
                FROM (SELECT i, random() r1, random() r2, random() r3, random() r4,
                             timestamptz '{START.isoformat()}'
                               + random() * interval '{span:.0f} seconds' joined
                      FROM generate_series(1, {m}) i) g""",
        ),
        (
            "member_tags",
            f"""INSERT INTO member_tags (member_id, tag, program_id)
                SELECT i, 'vip', {p} FROM generate_series(10, {m}, 10) i
                UNION ALL SELECT i, 'coffee', {p} FROM generate_series(7, {m}, 7) i""",
        ),
        (
            "orders",
            # Member ids skewed (power 1.6) towards the first: many light buyers, some heavy;
            # two in five members buy to the end, the others stop after a part of their time.
            f"""INSERT INTO orders (id, program_id, external_id, member_id, store_id, channel,
                    occurred_at, total_minor, eligible_minor, points_paid, points_earned,
                    growth_earned, refunded_minor, points_reversed, growth_reversed,
                    points_returned, created_at)
                SELECT g.k, {p}, 'B' || g.k, CASE WHEN g.anon THEN NULL ELSE mb.id END,
                       CASE WHEN g.online THEN NULL WHEN g.away THEN 101 + (g.k % {STORES})
                            ELSE coalesce(mb.store_id, 101 + (g.k % {STORES})) END,
                       CASE WHEN g.online THEN 'online' ELSE 'store' END,
                       {AT},
                       g.total, g.total, 0, g.total / 100, g.total / 100,
                       CASE WHEN g.roll < 0.02 THEN g.total WHEN g.roll < 0.07 THEN g.total / 3
                            ELSE 0 END,
                       0, 0, 0,
                       {AT}
                FROM (SELECT k, 1 + floor({m} * power(random(), 1.6))::int AS mid,
                             random() < 0.02 AS anon, random() < 0.10 AS online,
                             random() < 0.2 AS away, random() AS roll, random() AS at,
                             1000 + floor(random() * random() * 49000)::bigint AS total
                      FROM generate_series(1, {n}) k) g
                JOIN members mb ON mb.id = g.mid""",
        ),
        (
            "tier_changes",
            f"""INSERT INTO tier_changes (program_id, member_id, from_code, to_code, reason,
                    idempotency_key, at)
                SELECT {p}, id,
                       CASE tier_code WHEN 'silver' THEN 'regular' WHEN 'gold' THEN 'silver'
                            ELSE 'gold' END,
                       tier_code, 'upgrade', 'bench-up-' || id,
                       created_at + random() * (timestamptz '{END.isoformat()}' - created_at)
                FROM members WHERE tier_code <> 'regular'""",
        ),
        (
            "points plan",
            # One earn lot per member (expiring a year later); a third redeem part of it; of
            # the lots past expiry by the end, what is left is expired; one in ten recharge.
            f"""CREATE UNLOGGED TABLE bench_points AS
                SELECT i, earned, earn_at, earn_at + interval '365 days' AS expires_at,
                       redeemed, redeem_at,
                       CASE WHEN earn_at + interval '365 days' < timestamptz
                                 '{END.isoformat()}' THEN earned - redeemed ELSE 0 END AS expired,
                       principal, principal / 10 AS bonus,
                       earn_at + (timestamptz '{END.isoformat()}' - earn_at) * 0.3 AS recharge_at
                FROM (SELECT i, e.earned, e.earn_at,
                             CASE WHEN random() < 0.33 THEN e.earned / 2 ELSE 0 END AS redeemed,
                             e.earn_at + (least(e.earn_at + interval '365 days',
                                                timestamptz '{END.isoformat()}') - e.earn_at)
                                 * random() AS redeem_at,
                             CASE WHEN i % 10 = 3 THEN 10000 * (1 + i % 20) ELSE 0 END
                                 AS principal
                      FROM (SELECT id AS i, 100 + floor(random() * 5000)::bigint AS earned,
                                   created_at + random() * (timestamptz '{END.isoformat()}'
                                                            - created_at) AS earn_at
                            FROM members) e) x""",
        ),
        (
            "accounts",
            f"""INSERT INTO accounts (id, program_id, member_id, asset, code, balance)
                SELECT 1000 + i, {p}, i, 'points', 'member', earned - redeemed - expired
                FROM bench_points
                UNION ALL
                SELECT 1000 + {m} + i, {p}, i, 'wallet_principal', 'member', principal
                FROM bench_points WHERE principal > 0
                UNION ALL
                SELECT 1000 + 2 * {m} + i, {p}, i, 'wallet_bonus', 'member', bonus
                FROM bench_points WHERE principal > 0""",
        ),
        (
            "ledger_transactions",
            f"""INSERT INTO ledger_transactions (id, program_id, member_id, kind,
                    idempotency_key, occurred_at, created_at)
                SELECT i, {p}, i, 'earn', 'bench-earn-' || i, earn_at, earn_at FROM bench_points
                UNION ALL
                SELECT {m} + i, {p}, i, 'redeem', 'bench-redeem-' || i, redeem_at, redeem_at
                FROM bench_points WHERE redeemed > 0
                UNION ALL
                SELECT 2 * {m} + i, {p}, i, 'expire', 'bench-expire-' || i, expires_at,
                       expires_at FROM bench_points WHERE expired > 0
                UNION ALL
                SELECT 3 * {m} + i, {p}, i, 'recharge', 'bench-recharge-' || i, recharge_at,
                       recharge_at FROM bench_points WHERE principal > 0""",
        ),
        (
            "points_lots",
            f"""INSERT INTO points_lots (id, program_id, member_id, transaction_id, amount,
                    remaining, earned_at, expires_at)
                SELECT i, {p}, i, i, earned, earned - redeemed - expired, earn_at, expires_at
                FROM bench_points""",
        ),
        (
            "ledger_entries",
            f"""INSERT INTO ledger_entries (transaction_id, account_id, asset, amount, lot_id)
                SELECT i, 1000 + i, 'points', earned, i FROM bench_points
                UNION ALL SELECT i, {_system(database, p, "points", "issued")}, 'points',
                                 -earned, NULL FROM bench_points
                UNION ALL SELECT {m} + i, 1000 + i, 'points', -redeemed, i
                          FROM bench_points WHERE redeemed > 0
                UNION ALL SELECT {m} + i, {_system(database, p, "points", "redeemed")},
                                 'points', redeemed, NULL FROM bench_points WHERE redeemed > 0
                UNION ALL SELECT 2 * {m} + i, 1000 + i, 'points', -expired, i
                          FROM bench_points WHERE expired > 0
                UNION ALL SELECT 2 * {m} + i, {_system(database, p, "points", "expired")},
                                 'points', expired, NULL FROM bench_points WHERE expired > 0
                UNION ALL SELECT 3 * {m} + i, 1000 + {m} + i, 'wallet_principal', principal,
                                 NULL FROM bench_points WHERE principal > 0
                UNION ALL SELECT 3 * {m} + i,
                                 {_system(database, p, "wallet_principal", "recharged")},
                                 'wallet_principal', -principal, NULL
                          FROM bench_points WHERE principal > 0
                UNION ALL SELECT 3 * {m} + i, 1000 + 2 * {m} + i, 'wallet_bonus', bonus, NULL
                          FROM bench_points WHERE principal > 0
                UNION ALL SELECT 3 * {m} + i,
                                 {_system(database, p, "wallet_bonus", "recharged")},
                                 'wallet_bonus', -bonus, NULL
                          FROM bench_points WHERE principal > 0""",
        ),
        (
            "system balances",
            """UPDATE accounts a SET balance = s.total
               FROM (SELECT account_id, sum(amount) AS total FROM ledger_entries
                     WHERE account_id < 1000 GROUP BY account_id) s
               WHERE a.id = s.account_id""",
        ),
        ("drop plan", "DROP TABLE bench_points"),
    ]
    with database.engine.connect() as connection:
        connection.execute(text("SELECT setseed(0.11)"))
        # Foreign keys hold by construction; their per-row triggers would double the build.
        connection.execute(text("SET session_replication_role = replica"))
        # Secondary indexes and unique keys are built once after the rows, not row by row.
        connection.execute(text("SET maintenance_work_mem = '1GB'"))
        rebuild = _drop_indexes(connection, BIG_TABLES)
        connection.commit()
        for name, sql in steps + [(f"index {n}", sql) for n, sql in rebuild]:
            started = perf_counter()
            connection.execute(text(sql))
            connection.commit()
            print(f"  built {name:<20} {perf_counter() - started:7.1f} s")
        for table, column in (
            ("stores", "id"),
            ("members", "id"),
            ("orders", "id"),
            ("accounts", "id"),
            ("ledger_transactions", "id"),
            ("points_lots", "id"),
        ):
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                    f"(SELECT max({column}) FROM {table}))"
                )
            )
        connection.execute(text("SET session_replication_role = origin"))
        connection.commit()
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        started = perf_counter()
        c.execute(text("VACUUM ANALYZE"))
        print(f"  built {'vacuum analyze':<20} {perf_counter() - started:7.1f} s")


#: The tables filled in bulk, whose secondary indexes are dropped and rebuilt around it.
BIG_TABLES = (
    "members",
    "member_tags",
    "orders",
    "tier_changes",
    "accounts",
    "ledger_transactions",
    "points_lots",
    "ledger_entries",
)


def _drop_indexes(connection: Any, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """Drop the tables' unique keys and indexes but the primary keys; return how to rebuild them."""
    rebuild: list[tuple[str, str]] = []
    for table in tables:
        keys = connection.execute(
            text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = CAST(:t AS regclass) AND contype = 'u'"
            ),
            {"t": table},
        ).all()
        indexes = connection.execute(
            text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "WHERE i.schemaname = current_schema() AND i.tablename = :t "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conrelid = CAST(:t AS regclass) AND c.conname = i.indexname)"
            ),
            {"t": table},
        ).all()
        for name, definition in keys:
            connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
            rebuild.append((name, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
        for name, definition in indexes:
            connection.execute(text(f'DROP INDEX "{name}"'))
            rebuild.append((name, definition))
    return rebuild


def _system(database: Database, program_id: int, asset: str, code: str) -> int:
    with database.engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT min(id) FROM accounts WHERE program_id = :p AND member_id IS NULL "
                    "AND asset = :a AND code = :c"
                ),
                {"p": program_id, "a": asset, "c": code},
            ).scalar_one()
        )


# Loading into Arrow


@dataclass
class Loader:
    """Tables read out of PostgreSQL once (COPY → Arrow), with the seconds each took."""

    database: Database
    tables: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    QUERIES = {
        "orders": "SELECT member_id, store_id, "
        "floor(extract(epoch FROM occurred_at))::bigint AS ts, total_minor AS total, "
        "refunded_minor AS refunded FROM orders",
        "members": "SELECT id, store_id, gender, tier_code, channel, referrer_id, "
        "floor(extract(epoch FROM created_at))::bigint AS created FROM members",
        "member_tags": "SELECT member_id, tag FROM member_tags",
        "stores": "SELECT id, code FROM stores",
        "ledger_entries": "SELECT transaction_id, account_id, asset, amount, lot_id "
        "FROM ledger_entries",
        "ledger_transactions": "SELECT id, member_id, kind, "
        "floor(extract(epoch FROM occurred_at))::bigint AS ts FROM ledger_transactions",
        "accounts": "SELECT id, member_id, asset, code FROM accounts",
        "points_lots": "SELECT id, floor(extract(epoch FROM expires_at))::bigint AS expires "
        "FROM points_lots",
        "tier_changes": "SELECT member_id, from_code, to_code, "
        "floor(extract(epoch FROM at))::bigint AS ts FROM tier_changes",
        "member_rfm": "SELECT member_id, frequency, monetary_minor, recency_days "
        "FROM member_rfm WHERE frequency > 0",
    }

    def get(self, *names: str) -> float:
        """Load the tables not loaded yet; return the seconds these loads took."""
        from pyarrow import csv

        took = 0.0
        for name in names:
            if name in self.tables:
                continue
            started = perf_counter()
            buffer = io.BytesIO()
            raw = self.database.engine.raw_connection()
            try:
                cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
                sql = f"COPY ({self.QUERIES[name]}) TO STDOUT (FORMAT csv, HEADER)"
                with cursor.copy(sql) as copy:
                    for chunk in copy:
                        buffer.write(chunk)
            finally:
                raw.close()
            buffer.seek(0)
            self.tables[name] = csv.read_csv(buffer)
            del buffer
            self.seconds[name] = perf_counter() - started
            took += self.seconds[name]
        return took

    def duck(self) -> Any:
        """A DuckDB connection that sees every loaded table by name."""
        import duckdb

        connection = duckdb.connect()
        for name, table in self.tables.items():
            connection.register(name, table)
        return connection


# Steps


@dataclass
class Row:
    """One line of the table printed at the end."""

    step: str
    ours: float
    duck: float | None
    load: float | None
    target: str = "—"
    met: bool | None = None
    note: str = ""


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = perf_counter()
    result = call()
    return result, perf_counter() - started


def step_rfm(database: Database, program: ProgramConfig, loader: Loader) -> Row:
    with database.session_scope() as session:
        done, ours = timed(lambda: analytics_service.refresh(session, program=program, as_of=AS_OF))
    with database.session_scope(read_only=True) as session:
        limits = analytics_service.bounds(program.section(ANALYTICS), as_of=AS_OF, tz=program.tz)
        read, sql_seconds = timed(
            lambda: sum(
                1
                for _ in analytics_queries.purchase_stats(
                    session, program_id=program.id, bounds=limits
                )
            )
        )
    print(
        f"  rfm refresh {ours:.2f} s ({done.members:,} members, {done.scored:,} scored); "
        f"its GROUP BY alone, read again: {sql_seconds:.2f} s ({read:,} rows)  "
        f"[{load_average()}]"
    )
    load = loader.get("orders")
    window, end, _days, tz = rfm_bounds(database)
    noon = datetime.combine(AS_OF, time(12), tzinfo=tz).utcoffset()
    offset = int(noon.total_seconds()) if noon is not None else 0
    duck = loader.duck()
    as_of_day = (AS_OF - date(1970, 1, 1)).days
    sql = f"""
        SELECT member_id, count(*) AS f, CAST(sum(total - refunded) AS BIGINT) AS m,
               {as_of_day} - CAST(floor((max(ts) + {offset}) / 86400) AS BIGINT) AS r
        FROM orders
        WHERE member_id IS NOT NULL AND ts < {end} AND ts >= {window}
          AND NOT (refunded > 0 AND refunded >= total)
        GROUP BY member_id"""
    theirs, computed = timed(lambda: duck.sql(sql).to_arrow_table())
    loader.get("member_rfm")  # the check's own read, not counted
    duck.register("theirs", theirs)
    duck.register("member_rfm", loader.tables["member_rfm"])
    differ = duck.execute(
        """SELECT count(*) FROM member_rfm o FULL JOIN theirs t USING (member_id)
           WHERE o.frequency IS DISTINCT FROM t.f OR o.monetary_minor IS DISTINCT FROM t.m
              OR o.recency_days IS DISTINCT FROM t.r"""
    ).fetchone()[0]
    assert differ == 0, f"member_rfm and DuckDB disagree on {differ:,} members"
    print(f"  rfm agrees: F, M, R of {theirs.num_rows:,} members identical")
    ratio = ours / computed
    return Row(
        "rfm refresh", ours, computed, load, f"≤ {RFM_RATIO:.0f}× DuckDB", ratio <= RFM_RATIO, ""
    )


def step_segments(database: Database, program: ProgramConfig, loader: Loader) -> list[Row]:
    load = loader.get("members", "member_tags")
    duck = loader.duck()
    theirs_sql = {
        "attribute": "SELECT count(*) FROM members WHERE gender = 'female'",
        "tag": "SELECT count(DISTINCT member_id) FROM member_tags WHERE tag = 'vip'",
        "tier AND (tag OR gender)": """
            SELECT count(*) FROM members m
            WHERE tier_code = 'gold' AND (gender = 'male' OR EXISTS (
                SELECT 1 FROM member_tags t WHERE t.member_id = m.id AND t.tag = 'vip'))""",
    }
    rows = []
    for name, rule in COUNTS.items():
        best, best_duck, found, expected = float("inf"), float("inf"), None, None
        for _ in range(3):
            with database.session_scope(read_only=True) as session:
                found, took = timed(
                    lambda r=rule, s=session: segment_service.count(
                        s, program=program, definition=r
                    )
                )
            best = min(best, took)
            expected, took = timed(lambda n=name: duck.execute(theirs_sql[n]).fetchone()[0])
            best_duck = min(best_duck, took)
        assert found is not None and found.total == expected, (name, found, expected)
        print(f"  segment {name}: {found.total:,} members, agree")
        rows.append(
            Row(
                f"segment: {name}",
                best,
                best_duck,
                load,
                f"< {SEGMENT_SECONDS:.0f} s",
                best < SEGMENT_SECONDS,
            )
        )
        load = None
    return rows


def step_clv(database: Database, program: ProgramConfig, loader: Loader) -> Row:
    with database.session_scope() as session:
        stages: list[float] = [perf_counter()]
        fitted, ours = timed(
            lambda: forecast_service.fit(
                session,
                program=program,
                as_of=AS_OF,
                progress=lambda _done, _total: stages.append(perf_counter()),
            )
        )
    assert fitted.status == "fitted", fitted.message
    took = [later - sooner for sooner, later in pairwise(stages)]
    names = ("SQL summaries", "fit", "holdout fit", "forecasts written")
    print(
        f"  clv fit {ours:.2f} s ({fitted.members_used:,} members, "
        f"{fitted.repeat_buyers:,} repeat buyers, "
        f"{fitted.diagnostics.get('distinct_rows', 0):,} distinct BG/NBD rows, "
        f"{fitted.diagnostics.get('evaluations', 0)} evaluations): "
        + ", ".join(f"{n} {t:.1f} s" for n, t in zip(names, took, strict=False))
        + f"  [{load_average()}]"
    )
    load = loader.get("orders")
    tz = shown_in()
    offset = datetime.combine(AS_OF, time(12), tzinfo=tz).utcoffset()
    offset_seconds = int(offset.total_seconds()) if offset is not None else 0
    until_day = (AS_OF - date(1970, 1, 1)).days
    duck = loader.duck()
    sql = f"""
        WITH per_day AS (
            SELECT member_id, CAST(floor((ts + {offset_seconds}) / 86400) AS INTEGER) AS day,
                   CAST(sum(total - refunded) AS DOUBLE) AS value
            FROM orders WHERE member_id IS NOT NULL AND total - refunded > 0
            GROUP BY member_id, day),
        kept AS (SELECT * FROM per_day WHERE day <= {until_day})
        SELECT member_id, min(day) AS first, max(day) AS last, count(*) AS days,
               sum(value) AS value, arg_min(value, day) AS first_value
        FROM kept GROUP BY member_id ORDER BY member_id"""

    def compute() -> tuple[Any, Any]:
        s = duck.execute(sql).fetchnumpy()
        first = s["first"].astype(np.float64)
        x = s["days"].astype(np.float64) - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            monetary = np.where(
                x > 0, (s["value"] - s["first_value"]) / np.maximum(x, 1), 0.0
            ).astype(np.float64)
        t_x = s["last"].astype(np.float64) - first
        T = until_day - first
        bg = forecast_rules.fit_bgnbd(x, t_x, T)
        gg = forecast_rules.fit_gamma_gamma(x, monetary)
        return bg.params, gg.params

    (bgp, ggp), computed = timed(compute)
    ours_params = (fitted.r, fitted.alpha, fitted.a, fitted.b, fitted.p, fitted.q, fitted.v)
    theirs = (bgp.r, bgp.alpha, bgp.a, bgp.b, ggp.p, ggp.q, ggp.v)
    assert np.allclose(ours_params, theirs, rtol=1e-6), (ours_params, theirs)
    print("  clv agrees: r α a b p q v " + " ".join(f"{v:.4g}" for v in ours_params))
    return Row(
        "clv fit",
        ours,
        computed,
        load,
        f"< {CLV_SECONDS:.0f} s",
        ours < CLV_SECONDS,
        "DuckDB: summaries + the same fit; ours adds holdout + writes",
    )


def _report(database: Database, program: ProgramConfig, name: str) -> tuple[Any, float]:
    asked = reading.filters(
        program, date_from=DATE_FROM, date_to=DATE_TO, grain="month", store=None, tier=None
    )
    outcome, took = timed(
        lambda: reading.run(
            database, name=name, program=program, asked=asked, viewer=None, locale="en"
        )
    )
    return outcome.report, took


def _epochs(program: ProgramConfig) -> list[int]:
    cut = buckets(DATE_FROM, DATE_TO, Grain.month)
    return [int(b.timestamp()) for b in _bounds(program, cut)]


def _bucket_sql(column: str, epochs: list[int]) -> str:
    cases = " ".join(f"WHEN {column} < {end} THEN {n}" for n, end in enumerate(epochs[1:]))
    return f"CASE {cases} ELSE {len(epochs) - 1} END"


def step_sales(database: Database, program: ProgramConfig, loader: Loader) -> Row:
    report, ours = _report(database, program, "sales")
    load = loader.get("orders", "stores")
    e = _epochs(program)
    duck = loader.duck()
    sql = f"""
        SELECT GROUPING(bucket, s.code) AS g, {_bucket_sql("ts", e)} AS bucket, s.code,
               CAST(sum(total - refunded) AS BIGINT) AS sales,
               count(*) FILTER (WHERE NOT (refunded > 0 AND refunded >= total)) AS orders,
               count(DISTINCT member_id) FILTER (WHERE NOT (refunded > 0 AND refunded >= total))
                   AS buyers,
               CAST(coalesce(sum(total - refunded) FILTER (WHERE member_id IS NOT NULL), 0)
                    AS BIGINT) AS member_sales
        FROM orders o LEFT JOIN stores s ON s.id = o.store_id
        WHERE ts >= {e[0]} AND ts < {e[-1]}
        GROUP BY GROUPING SETS ((), (bucket), (s.code))"""
    rows, computed = timed(lambda: duck.execute(sql).fetchall())
    # GROUPING(bucket, code): 3 the total, 1 by bucket, 2 by store (code None: online).
    total = next(r for r in rows if r[0] == 3)
    t = report.total
    assert (t.sales_minor, t.orders, t.buyers, t.member_sales_minor) == tuple(total[3:]), (
        t,
        total,
    )
    by_bucket = {r[1]: r[3] for r in rows if r[0] == 1}
    assert [row.sales_minor for row in report.by_period] == [
        by_bucket.get(n, 0) for n in range(len(report.by_period))
    ]
    stores = {r[2]: r[3] for r in rows if r[0] == 2}
    assert {row.key: row.sales_minor for row in report.by_store} == stores
    print(
        f"  sales agree: {t.sales_minor:,} minor over {t.orders:,} orders, "
        f"{t.buyers:,} buyers; {len(report.by_period)} months, {len(stores)} stores"
    )
    return Row("report: sales", ours, computed, load)


def step_points(database: Database, program: ProgramConfig, loader: Loader) -> Row:
    report, ours = _report(database, program, "points")
    load = loader.get("ledger_entries", "ledger_transactions", "accounts", "points_lots")
    e = _epochs(program)
    at = e[-1]  # the end of ``to``: the liability's moment
    duck = loader.duck()
    flows = f"""
        SELECT a.asset, a.code, sum(le.amount)
        FROM ledger_entries le JOIN ledger_transactions t ON t.id = le.transaction_id
        JOIN accounts a ON a.id = le.account_id
        WHERE a.member_id IS NULL AND t.ts >= {e[0]} AND t.ts < {e[-1]}
        GROUP BY a.asset, a.code"""
    expiring = ", ".join(
        f"coalesce(sum(le.amount) FILTER (WHERE l.expires > {at} "
        f"AND l.expires <= {at + days * 86400}), 0) AS e{days}"
        for days in (30, 60, 90)
    )
    owed = f"""
        SELECT sum(le.amount) FILTER (WHERE le.asset = 'points' AND le.lot_id IS NOT NULL
                   AND (l.expires IS NULL OR l.expires > {at})) AS points,
               {expiring},
               coalesce(-sum(le.amount) FILTER (WHERE le.asset = 'points'
                   AND le.lot_id IS NULL), 0) AS debt,
               sum(le.amount) FILTER (WHERE le.asset = 'wallet_principal') AS principal,
               sum(le.amount) FILTER (WHERE le.asset = 'wallet_bonus') AS bonus
        FROM ledger_entries le JOIN ledger_transactions t ON t.id = le.transaction_id
        JOIN accounts a ON a.id = le.account_id
        LEFT JOIN points_lots l ON l.id = le.lot_id
        WHERE a.member_id IS NOT NULL AND a.code = 'member' AND t.ts < {at}"""
    (flow_rows, owed_row), computed = timed(
        lambda: (duck.execute(flows).fetchall(), duck.execute(owed).fetchone())
    )
    sums = {(asset, code): int(total) for asset, code, total in flow_rows}
    p, o = report.points, report.outstanding
    assert (p.issued, p.redeemed, p.expired) == (
        -sums.get(("points", "issued"), 0),
        sums.get(("points", "redeemed"), 0),
        sums.get(("points", "expired"), 0),
    ), (p, sums)
    assert report.wallet.recharged_principal == -sums.get(("wallet_principal", "recharged"), 0)
    points, e30, e60, e90, debt, principal, bonus = (int(v or 0) for v in owed_row)
    assert (
        o.points,
        o.expiring[30],
        o.expiring[60],
        o.expiring[90],
        o.points_debt,
        o.wallet_principal,
        o.wallet_bonus,
    ) == (points, e30, e60, e90, debt, principal, bonus), (o, owed_row)
    print(
        f"  points agree: issued {p.issued:,}, redeemed {p.redeemed:,}, expired "
        f"{p.expired:,}; outstanding {o.points:,} (90 days: {o.expiring[90]:,}), "
        f"stored value {o.wallet_principal:,} + {o.wallet_bonus:,}"
    )
    return Row("report: points", ours, computed, load)


def step_members(database: Database, program: ProgramConfig, loader: Loader) -> Row:
    report, ours = _report(database, program, "members")
    load = loader.get("orders", "members", "tier_changes")
    e = _epochs(program)
    duck = loader.duck()
    counts = f"""
        SELECT count(*), count(*) FILTER (WHERE created >= {e[0]}),
               count(*) FILTER (WHERE created >= {e[0]} AND referrer_id IS NOT NULL)
        FROM members WHERE created < {e[-1]}"""
    tiers = f"SELECT tier_code, count(*) FROM members WHERE created < {e[-1]} GROUP BY 1"
    buyers = f"""
        SELECT count(*), count(*) FILTER (WHERE n >= 2) FROM (
            SELECT member_id, count(*) AS n FROM orders
            WHERE member_id IS NOT NULL AND ts >= {e[0]} AND ts < {e[-1]}
              AND NOT (refunded > 0 AND refunded >= total)
            GROUP BY member_id)"""
    moves = f"""SELECT count(*) FROM tier_changes
                WHERE ts >= {e[0]} AND ts < {e[-1]} AND from_code <> to_code"""
    (c, t, b, mv), computed = timed(
        lambda: (
            duck.execute(counts).fetchone(),
            dict(duck.execute(tiers).fetchall()),
            duck.execute(buyers).fetchone(),
            duck.execute(moves).fetchone()[0],
        )
    )
    assert (report.total, report.new, report.referred) == c, (report.total, report.new, c)
    assert {g.key: g.members for g in report.by_tier} == t
    assert (report.buyers, report.repeat_buyers) == b
    assert sum(m.upgrades + m.downgrades for m in report.tier_moves) == mv
    print(
        f"  members agree: {report.total:,} members, {report.new:,} new, "
        f"{report.buyers:,} buyers ({report.repeat_buyers:,} repeat), {mv:,} tier moves"
    )
    return Row(
        "report: members",
        ours,
        computed,
        load,
        note="DuckDB: totals, tiers, buyers, moves (not cohorts, stores, channels)",
    )


def print_table(rows: list[Row]) -> None:
    print()
    print(
        f"{'step':<34} {'ours s':>8} {'duckdb s':>9} {'load s':>7} {'ratio':>7} "
        f"{'w/ load':>7}  {'target':<16} met?"
    )
    for r in rows:
        duck = f"{r.duck:9.3f}" if r.duck is not None else f"{'—':>9}"
        load = f"{r.load:7.2f}" if r.load else f"{'(shared)':>7}"
        ratio = f"{r.ours / r.duck:6.1f}×" if r.duck else f"{'—':>7}"
        loaded = f"{r.ours / (r.duck + r.load):6.1f}×" if r.duck and r.load else f"{'':>7}"
        met = "—" if r.met is None else ("yes" if r.met else "NO")
        print(
            f"{r.step:<34} {r.ours:8.3f} {duck} {load} {ratio} {loaded}  {r.target:<16} {met}"
            + (f"   ({r.note})" if r.note else "")
        )


STEPS = ("rfm", "segments", "clv", "sales", "points", "members")
STEP: dict[str, Callable[[Database, ProgramConfig, Loader], Row]] = {
    "rfm": step_rfm,
    "clv": step_clv,
    "sales": step_sales,
    "points": step_points,
    "members": step_members,
}


def run(url: str, args: argparse.Namespace) -> None:
    """Migrate, build (unless ``--url``), measure, compare and print on one database."""
    configure(database_url=url, scheduler=False)
    database = get_database()
    migrate.upgrade(database.engine)
    with database.session_scope() as session:
        program_service.ensure_default(session)
    with database.session_scope(read_only=True) as session:
        program = program_service.get(session)
    started = perf_counter()
    if args.url is None:
        build(database, program, members=args.members, orders=args.orders)
    with database.engine.connect() as connection:
        orders = connection.execute(text("SELECT count(*) FROM orders")).scalar_one()
        members = connection.execute(text("SELECT count(*) FROM members")).scalar_one()
        size = connection.execute(
            text("SELECT pg_size_pretty(pg_database_size(current_database()))")
        ).scalar_one()
        settings = dict(
            connection.execute(
                text(
                    "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
                    "('shared_buffers', 'work_mem', 'max_parallel_workers_per_gather')"
                )
            ).all()
        )
    print(
        f"{'built' if args.url is None else 'measuring'} {members:,} members, "
        f"{orders:,} orders in {perf_counter() - started:.0f} s; database {size}; "
        f"PostgreSQL {settings}  [{load_average()}]"
    )
    loader = Loader(database)
    rows: list[Row] = []
    for step in args.steps:
        if step == "segments":
            rows += step_segments(database, program, loader)
        else:
            rows.append(STEP[step](database, program, loader))
    print_table(rows)
    print(
        "load: COPY … TO STDOUT (csv) → pyarrow, per table once: "
        + ", ".join(f"{name} {s:.1f} s" for name, s in loader.seconds.items())
    )
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {load_average()}")


def main() -> None:
    """Parse the options and run on a fresh PostgreSQL database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--keep", action="store_true", help="keep the built database")
    parser.add_argument("--url", help="measure a database an earlier --keep run built")
    parser.add_argument(
        "--steps",
        type=lambda value: [step for step in value.split(",") if step],
        default=list(STEPS),
        help="comma-separated, of " + ",".join(STEPS),
    )
    args = parser.parse_args()
    unknown = sorted(set(args.steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown steps: {', '.join(unknown)}")
    if args.url:
        try:
            run(args.url, args)
        finally:
            get_database().dispose()
        return
    print(f"{args.members:,} members, {args.orders:,} orders  [{load_average()}]")
    with postgres_database(args.database_url, keep=args.keep) as url:
        run(url, args)


if __name__ == "__main__":
    main()

"""Segments: what the after-commit refresh adds to posting an order, and a count over 1M members.

(a) Order posting p50/p95 (``order.service.post_order`` in its own unit of work, commit
    included) with 20 rule segments defined, first with no after-commit callback, then with the
    segments refreshed for the order's member after each commit (``reactions.AFTER_COMMIT``,
    which hands the members to the background refresher), and how long after the last order
    the refresher had caught up.
(b) ``segment.service.count`` (the count and the preview of 20) of three rules over a program of
    ``--members`` members (1,000,000 by default) made with Core bulk inserts: an attribute,
    a tag, and tier AND (tag OR gender). Target: under 1 s.

SQLite always runs, on a temporary file; PostgreSQL too with ``--database-url`` naming a server
(a ``memberkit_bench_<random>`` database is created for the run and dropped).

    .venv/bin/python bench/segment.py [--orders 200] [--members 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import insert, select

from earn import Setup, postgres_target, prepare, sqlite_target
from memberkit import reactions
from memberkit.db import table
from memberkit.member.models import Member, MemberTag
from memberkit.order import service as order_service
from memberkit.pipeline import BACKGROUND
from memberkit.segment import service as segment_service
from memberkit.segment.models import SegmentKind

#: Twenty rules of every kind of field, refreshed after each order.
RULES: list[dict[str, Any]] = (
    [{"all": [{"field": "spend", "op": "gte", "value": 1000 * n, "days": 30}]} for n in range(5)]
    + [{"all": [{"field": "orders", "op": "gte", "value": n, "days": 90}]} for n in range(1, 6)]
    + [{"all": [{"field": "tag", "op": "any_of", "value": [f"t{n}"]}]} for n in range(3)]
    + [{"all": [{"field": "points", "op": "gte", "value": 100 * n}]} for n in range(3)]
    + [
        {
            "any": [
                {"field": "bought_category", "op": "any_of", "value": ["coffee"], "days": 30},
                {"field": "coupons_unused", "op": "gte", "value": 1},
            ]
        },
        {"all": [{"field": "gender", "op": "eq", "value": "female"}]},
        {"all": [{"field": "wallet", "op": "gt", "value": 0}]},
        {"all": [{"field": "points_expiring", "op": "gt", "value": 0, "days": 30}]},
    ]
)
COUNTS: dict[str, dict[str, Any]] = {
    "attribute": {"all": [{"field": "gender", "op": "eq", "value": "female"}]},
    "tag": {"all": [{"field": "tag", "op": "any_of", "value": ["vip"]}]},
    "tier AND (tag OR gender)": {
        "all": [
            {"field": "tier", "op": "eq", "value": "gold"},
            {
                "any": [
                    {"field": "tag", "op": "any_of", "value": ["vip"]},
                    {"field": "gender", "op": "eq", "value": "male"},
                ]
            },
        ]
    },
}


def post_orders(setup: Setup, count: int, prefix: str) -> list[float]:
    """Post ``count`` one-line orders, one unit of work each; return each one's seconds."""
    line = order_service.LineIn("A1", "拿铁", "coffee", 1, 3000, 3000)
    payments = [order_service.PaymentIn("wechat", 3000)]
    took = []
    for n in range(count):
        order = order_service.OrderIn(
            external_id=f"{prefix}-{n}",
            member=order_service.MemberRef(member_no=setup.member_nos[n % len(setup.member_nos)]),
            store_code="SH001",
            channel="store",
            occurred_at=setup.occurred_at,
            lines=[line],
            payments=payments,
        )
        start = time.perf_counter()
        with setup.database.session_scope() as session:
            order_service.post_order(session, program=setup.program, order=order)
        took.append(time.perf_counter() - start)
    return took


def ms(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


def bench_orders(setup: Setup, orders: int) -> None:
    with setup.database.session_scope() as session:
        for n, rule in enumerate(RULES):
            segment_service.create(
                session,
                program=setup.program,
                name=f"rule {n}",
                kind=SegmentKind.rule,
                definition=rule,
            )
    saved = reactions.AFTER_COMMIT
    post_orders(setup, 20, "warm")
    reactions.AFTER_COMMIT = ()
    try:
        without = post_orders(setup, orders, "without")
    finally:
        reactions.AFTER_COMMIT = saved
    with_refresh = post_orders(setup, orders, "with")
    start = time.perf_counter()
    assert BACKGROUND.settle(timeout=600)
    caught_up = time.perf_counter() - start
    for name, took in (
        ("no after-commit refresh", without),
        ("20 segments refreshed", with_refresh),
    ):
        print(f"  order  {name:<26} p50 {ms(took, 50):7.2f} ms   p95 {ms(took, 95):7.2f} ms")
    print(f"  order  refresh adds {ms(with_refresh, 50) - ms(without, 50):.2f} ms at p50")
    print(f"  refresh caught up {caught_up * 1000:.0f} ms after the last order")


def build_members(setup: Setup, count: int) -> None:
    """Bulk-insert ``count`` members (a fifth gold, half female, a tenth tagged vip)."""
    members, tags = table(Member), table(MemberTag)
    program_id = setup.program.id
    with setup.database.engine.begin() as connection:
        first = (connection.scalar(select(Member.id).order_by(Member.id.desc()).limit(1)) or 0) + 1
    chunk = 50_000
    for start in range(0, count, chunk):
        ids = range(first + start, first + min(start + chunk, count))
        with setup.database.engine.begin() as connection:
            connection.execute(
                insert(members),
                [
                    {
                        "id": i,
                        "program_id": program_id,
                        "member_no": f"9{i:011d}",
                        "phone_index": f"bench-{i}",
                        "phone_enc": "x",
                        "gender": "female" if i % 2 else "male",
                        "channel": "store",
                        "store_id": setup.store_id,
                        "tags": ["vip"] if i % 10 == 0 else [],
                        "status": "active",
                        "tier_code": "gold" if i % 5 == 0 else "silver",
                        "created_at": setup.occurred_at,
                        "updated_at": setup.occurred_at,
                    }
                    for i in ids
                ],
            )
            connection.execute(
                insert(tags),
                [
                    {"member_id": i, "tag": "vip", "program_id": program_id}
                    for i in ids
                    if i % 10 == 0
                ],
            )


def bench_counts(setup: Setup, members: int) -> None:
    start = time.perf_counter()
    build_members(setup, members)
    print(f"  built {members:,} members in {time.perf_counter() - start:.1f} s")
    for name, rule in COUNTS.items():
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            with setup.database.session_scope(read_only=True) as session:
                found = segment_service.count(session, program=setup.program, definition=rule)
            best = min(best, time.perf_counter() - start)
        verdict = "ok" if best < 1 else "OVER 1 s"
        print(f"  count  {name:<26} {found.total:>9,} members  {best * 1000:7.1f} ms  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200, help="0: counts only")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="a PostgreSQL server to run on as well")
    args = parser.parse_args()
    targets: list[AbstractContextManager[tuple[str, str, Any]]] = [sqlite_target()]
    if args.database_url:
        targets.append(postgres_target(args.database_url))
    for target in targets:
        with target as (kind, url, data_dir):
            print(kind)
            setup = prepare(kind, url, data_dir, members=100)
            if args.orders:
                bench_orders(setup, args.orders)
            bench_counts(setup, args.members)
            setup.database.dispose()


if __name__ == "__main__":
    main()

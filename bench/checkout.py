"""Latency of the checkout: the preview, an order with the tier discount and a coupon, and the
plain order, in the same run on the same database.

Every cart is two lines (2 × 拿铁 at 30.00, 1 × 蛋糕 at 33.33), one cart per transaction,
members round-robin, on the service layer (what the API's endpoints call), after a warm-up:

  plain     ``order.service.post_order`` of an order with no coupon, before any tier discount
            is granted: what posting an order cost before the checkout existed, plus the one
            look-up of the tier's discount rate it now makes.
  tier      the same once the members' tier has a 95 % discount (the due is smaller).
  coupon    the same with the tier discount and one of the member's ¥5.00 vouchers named: the
            coupon looked up, judged, marked used and its template's budget consumed, and its
            ``order_coupons`` row written.
  preview   ``order.checkout.preview`` of the cart with no coupon named, so the best of the
            member's coupons is searched (each holds several), in a read-only unit of work
            rolled back at its end.

Prints p50 and p95 per path in milliseconds and the ratios to the plain order. SQLite always
runs, on a temporary file; PostgreSQL too when MEMBERKIT_BENCH_DATABASE_URL (or
MEMBERKIT_TEST_DATABASE_URL) names a server, in a database created for the run and dropped.

    .venv/bin/python bench/checkout.py [--orders 400] [--members 100] [--only postgresql]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

from sqlalchemy import func, select

from earn import Setup, postgres_target, prepare, sqlite_target
from memberkit.benefit import service as benefit_service
from memberkit.benefit.rules import Period
from memberkit.coupon.models import Coupon, CouponStatus, CouponTemplate, OrderCoupon
from memberkit.coupon.rules import new_code
from memberkit.member.models import Member
from memberkit.member.service import MemberRef
from memberkit.order import checkout
from memberkit.order import service as order_service
from memberkit.program import service as program_service

LINES = [
    order_service.LineIn("A1", "拿铁", "coffee", 2, 3000, 6000),
    order_service.LineIn("B1", "蛋糕", "cake", 1, 3333, 3333),
]
LINES_MINOR = 9333
#: 95 % of 93.33 (4.66 off), then a ¥5.00 voucher.
TIER_DUE, COUPON_DUE = 8867, 8367
WARM_UP = 20


def _templates(setup: Setup) -> tuple[int, int, int]:
    """Three templates: the ¥5.00 voucher the orders use, 10 % off, and ¥15 off above ¥80."""
    with setup.database.session_scope() as session:
        made = [
            CouponTemplate(program_id=setup.program.id, code=code, name=name, kind=kind, **terms)
            for code, name, kind, terms in (
                ("CASH5", "五元券", "cash", {"off_minor": 500}),
                ("PCT10", "九折券", "percent_off", {"percent_bp": 1000, "cap_minor": 2000}),
                ("FULL80", "满80减15", "amount_off", {"threshold_minor": 8000, "off_minor": 1500}),
            )
        ]
        session.add_all(made)
        session.flush()
        return made[0].id, made[1].id, made[2].id


def _issue(setup: Setup, *, per_member: int, templates: tuple[int, int, int]) -> None:
    """Give each member ``per_member`` vouchers and one coupon of each other template."""
    rng = Random(10)
    now = datetime.now(UTC)
    with setup.database.session_scope() as session:
        ids = dict(session.execute(select(Member.member_no, Member.id)).all())
        rows = []
        for member_no in setup.member_nos:
            chosen = [templates[0]] * per_member + list(templates[1:])
            for n, template_id in enumerate(chosen):
                rows.append(
                    Coupon(
                        program_id=setup.program.id,
                        template_id=template_id,
                        member_id=ids[member_no],
                        code=new_code(rng),
                        status=CouponStatus.available,
                        source="bulk",
                        batch_key=f"bench-{n}",
                        valid_from=now - timedelta(days=2),
                        valid_until=now + timedelta(days=30),
                        issued_at=now - timedelta(days=2),
                    )
                )
        session.add_all(rows)


def _vouchers(setup: Setup, template_id: int) -> dict[str, list[str]]:
    """Each member's vouchers of ``template_id``, by card number."""
    with setup.database.session_scope(read_only=True) as session:
        rows = session.execute(
            select(Member.member_no, Coupon.code)
            .join(Member, Member.id == Coupon.member_id)
            .where(Coupon.template_id == template_id)
            .order_by(Coupon.id)
        ).all()
    held: dict[str, list[str]] = {}
    for member_no, code in rows:
        held.setdefault(member_no, []).append(code)
    return held


def _order(setup: Setup, n: int, member_no: str, due: int, coupons: tuple[str, ...]) -> None:
    with setup.database.session_scope() as session:
        order_service.post_order(
            session,
            program=setup.program,
            order=order_service.OrderIn(
                external_id=f"B-{n}",
                member=MemberRef(member_no=member_no),
                store_code="SH001",
                channel="store",
                occurred_at=setup.occurred_at,
                lines=LINES,
                payments=[order_service.PaymentIn("wechat", due)],
                coupons=coupons,
            ),
        )


def _preview(setup: Setup, member_no: str) -> None:
    with setup.database.session_scope(read_only=True, rollback=True) as session:
        seen = checkout.preview(
            session,
            program=setup.program,
            cart=checkout.CartIn(
                member=MemberRef(member_no=member_no),
                store_code="SH001",
                channel="store",
                occurred_at=setup.occurred_at,
                lines=LINES,
            ),
            now=datetime.now(UTC),
        )
    assert seen.order.discount_minor > 0


def _timed(count: int, work: Callable[[int], None]) -> list[float]:
    """Run ``work(0…count-1)`` after a warm-up of its own; each call's milliseconds."""
    for n in range(WARM_UP):
        work(count + n)
    spans = []
    for n in range(count):
        start = time.perf_counter()
        work(n)
        spans.append((time.perf_counter() - start) * 1000)
    return spans


def bench(kind: str, url: str, data_dir: Path, *, orders: int, members: int) -> None:
    """Time the four paths on one database and print their figures."""
    setup = prepare(kind, url, data_dir, members=members)
    templates = _templates(setup)
    per_member = (2 * (orders + WARM_UP)) // members + 2
    _issue(setup, per_member=per_member, templates=templates)
    held = _vouchers(setup, templates[0])
    serial = iter(range(10**9))
    nos = setup.member_nos

    def member(n: int) -> str:
        return nos[n % len(nos)]

    spans: dict[str, list[float]] = {}
    spans["plain"] = _timed(
        orders, lambda n: _order(setup, next(serial), member(n), LINES_MINOR, ())
    )
    with setup.database.session_scope() as session:
        benefit_service.grant(
            session,
            program=setup.program,
            code="tier_discount",
            grants=[benefit_service.GrantIn("regular", None, Period.month, 9500)],
        )
    program_service.forget_cache()
    spans["tier"] = _timed(orders, lambda n: _order(setup, next(serial), member(n), TIER_DUE, ()))

    def with_coupon(n: int) -> None:
        no = member(n)
        _order(setup, next(serial), no, COUPON_DUE, (held[no].pop(),))

    spans["coupon"] = _timed(orders, with_coupon)
    spans["preview"] = _timed(orders, lambda n: _preview(setup, member(n)))
    with setup.database.session_scope(read_only=True) as session:
        uses = session.scalar(select(func.count()).select_from(OrderCoupon))
        used = session.scalar(
            select(CouponTemplate.discount_used_minor).where(CouponTemplate.id == templates[0])
        )
    assert uses == orders + WARM_UP and used == 500 * uses, (uses, used)
    plain = statistics.median(spans["plain"])
    print(f"\n{kind}: {orders} carts per path, {members} members, {per_member + 2} coupons each")
    print(f"{'path':<10}{'p50 ms':>9}{'p95 ms':>9}{'p50 ÷ plain':>13}")
    for path, times in spans.items():
        p50 = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[18]
        print(f"{path:<10}{p50:>9.2f}{p95:>9.2f}{p50 / plain:>12.2f}×")


def main() -> None:
    """Run the benchmark on SQLite and, when a server is named, PostgreSQL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores")
    server = os.environ.get("MEMBERKIT_BENCH_DATABASE_URL") or os.environ.get(
        "MEMBERKIT_TEST_DATABASE_URL"
    )
    if args.only != "postgresql":
        with sqlite_target() as (kind, url, data_dir):
            bench(kind, url, data_dir, orders=args.orders, members=args.members)
    if server and args.only != "sqlite":
        with postgres_target(server) as (kind, url, data_dir):
            bench(kind, url, data_dir, orders=args.orders, members=args.members)


if __name__ == "__main__":
    main()

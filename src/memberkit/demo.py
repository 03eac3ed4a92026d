"""A realistic, deterministic demo data set: a chain of stores, members, two years of orders.

Everything goes through the real services (so the demo exercises the ledger as production
does), many orders per transaction to keep it quick.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from memberkit.db import Database
from memberkit.kit.time import Timing
from memberkit.ledger import expiry
from memberkit.ledger import repository as ledger_repository
from memberkit.ledger.models import AccountCode, Asset
from memberkit.ledger.service import InsufficientPoints
from memberkit.member import repository as member_repository
from memberkit.member import service as member_service
from memberkit.order import service as order_service
from memberkit.program import service as program_service
from memberkit.store import service as store_service
from memberkit.store.models import StoreType
from memberkit.tier import service as tier_service
from memberkit.wallet import service as wallet_service

CITIES = {
    "上海": ("SH", ["南京东路店", "徐家汇店", "陆家嘴店", "静安寺店", "五角场店"]),
    "北京": ("BJ", ["三里屯店", "国贸店", "中关村店", "西单店"]),
    "广州": ("GZ", ["天河城店", "北京路店"]),
    "深圳": ("SZ", ["万象城店", "海岸城店"]),
    "杭州": ("HZ", ["湖滨店", "西溪店"]),
    "成都": ("CD", ["春熙路店", "太古里店"]),
    "南京": ("NJ", ["新街口店"]),
    "武汉": ("WH", ["江汉路店", "光谷店"]),
}
CATALOG = [
    ("C001", "拿铁", "coffee", 3000),
    ("C002", "美式", "coffee", 2500),
    ("C003", "澳白", "coffee", 3200),
    ("B001", "可颂", "bakery", 1800),
    ("B002", "肉桂卷", "bakery", 2200),
    ("M001", "保湿面霜", "beauty", 26800),
    ("M002", "精华液", "beauty", 49900),
    ("A001", "纯棉T恤", "apparel", 12900),
    ("A002", "羊毛围巾", "apparel", 39900),
    ("G001", "礼品卡", "gift_card", 50000),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
DEMO_RULES = {
    "points_per_unit": "1",
    "growth_per_unit": "1",
    "rounding": "floor",
    "min_order_amount": "1.00",
    "excluded_categories": ["gift_card"],
    "category_multipliers": {"beauty": "1.5"},
    "date_multipliers": [{"name": "会员日", "weekday": 3, "multiplier": "2"}],
}


@dataclass(frozen=True)
class DemoSummary:
    """What the demo created."""

    stores: int
    members: int
    orders: int
    refunds: int
    points_payments: int
    expired_points: int
    recharges: int = 0
    wallet_payments: int = 0
    tiers_kept: int = 0
    tiers_lowered: int = 0


def is_empty(database: Database) -> bool:
    """Tell whether the database has no members yet."""
    with database.session_scope() as session:
        return member_repository.count_members(session) == 0


def load(
    database: Database,
    *,
    members: int = 5000,
    orders: int = 60000,
    seed: int = 20261122,
    now: datetime,
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoSummary:
    """Create the demo chain; ``progress(stage, done, total)`` reports as it goes."""
    rng = random.Random(seed)
    report = progress or (lambda _stage, _done, _total: None)
    with database.session_scope() as session:
        program_service.ensure_default(session)
        program = program_service.get(session)
        program = program_service.configure(session, program=program, earning_rules=DEMO_RULES)
        store_codes = _stores(session, program.id)
    start = now - timedelta(days=730)

    member_nos: list[str] = []
    # What each wallet holds at least (refunds return more than this tracks; never less).
    wallets: dict[int, int] = {}
    weights: list[float] = []
    joined: list[datetime] = []
    batch = 500
    for first in range(0, members, batch):
        with database.session_scope() as session:
            for _number in range(first, min(first + batch, members)):
                when = start + timedelta(seconds=rng.uniform(0, 700 * 86400))
                member = member_service.register(
                    session,
                    program_id=program.id,
                    phone=f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
                    name=rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
                    gender=rng.choice(("male", "female", "female", "unknown")),
                    birthday=date(
                        rng.randrange(1960, 2006), rng.randrange(1, 13), rng.randrange(1, 29)
                    ),
                    store_code=rng.choice(store_codes),
                    channel=rng.choice(("store", "store", "mini_program", "online")),
                    tags=rng.sample(
                        ["coffee_lover", "beauty", "student", "office", "family"],
                        k=rng.randrange(0, 3),
                    ),
                    registered_at=when,
                    rng=rng,
                )
                member_nos.append(member.member_no)
                joined.append(when)
                if rng.random() < 0.08:  # some members keep stored value (储值)
                    amount = rng.choice((20_000, 50_000, 100_000))
                    wallet_service.recharge(
                        session,
                        program=program,
                        member_no=member.member_no,
                        external_id=f"DEMO-RC-{len(member_nos):06d}",
                        amount_minor=amount,
                        method=rng.choice(("wechat", "alipay", "cash")),
                        store_code=rng.choice(store_codes),
                        occurred_at=when + timedelta(minutes=5),
                        timing=Timing.replay(when + timedelta(minutes=5)),
                    )
                    wallets[len(member_nos) - 1] = amount + program.wallet.bonus_for(amount)
                # Long-tailed activity: a few members buy very often, most rarely.
                weights.append(rng.lognormvariate(0, 1.2))
            report("members", min(first + batch, members), members)

    plan = []
    buyers = rng.choices(range(members), weights=weights, k=orders)
    for n, index in enumerate(buyers):
        begin = joined[index]
        moment = begin + timedelta(
            seconds=rng.uniform(0, max(60.0, (now - begin).total_seconds() - 60))
        )
        plan.append((moment, index, n))
    plan.sort()

    balances: dict[int, int] = {}
    counts = {"orders": 0, "refunds": 0, "points": 0, "wallet": 0}
    pending_refunds: list[tuple[datetime, str, int]] = []
    batch = 400
    for first in range(0, len(plan), batch):
        with database.session_scope() as session:
            for moment, index, n in plan[first : first + batch]:
                while pending_refunds and pending_refunds[0][0] <= moment:
                    when, external_id, number = pending_refunds.pop(0)
                    _refund(session, program, rng, when, external_id, number)
                    counts["refunds"] += 1
                external_id = f"DEMO-{n + 1:06d}"
                result = _order(
                    session,
                    program,
                    rng,
                    moment,
                    external_id,
                    member_nos[index],
                    rng.choice(store_codes),
                    balances.get(index, 0),
                    counts,
                    wallet=wallets.get(index, 0),
                )
                if result.wallet_principal_paid or result.wallet_bonus_paid:
                    wallets[index] -= result.wallet_principal_paid + result.wallet_bonus_paid
                balances[index] = result.points_balance
                counts["orders"] += 1
                if rng.random() < 0.03:
                    pending_refunds.append(
                        (moment + timedelta(days=rng.uniform(0.1, 7)), external_id, n)
                    )
                    pending_refunds.sort()
            report("orders", min(first + batch, len(plan)), len(plan))
    with database.session_scope() as session:
        for when, external_id, number in pending_refunds:
            if when < now:
                _refund(session, program, rng, when, external_id, number)
                counts["refunds"] += 1

    expiry.run(database, program=program, as_of=now)
    with database.session_scope() as session:
        # Points expired all along the two years (each posting expires what is due first).
        expired_points = ledger_repository.system_total(
            session, program_id=program.id, asset=Asset.points, code=AccountCode.expired
        )
    # Tier periods that ended during the two years are reviewed, as the scheduler would have.
    reviewed = tier_service.review(database, program=program, as_of=now)
    return DemoSummary(
        stores=len(store_codes),
        members=members,
        orders=counts["orders"],
        refunds=counts["refunds"],
        points_payments=counts["points"],
        expired_points=expired_points,
        recharges=len(wallets),
        wallet_payments=counts["wallet"],
        tiers_kept=reviewed.kept,
        tiers_lowered=reviewed.downgraded,
    )


def _stores(session: Session, program_id: int) -> list[str]:
    codes = []
    for city, (prefix, names) in CITIES.items():
        for number, name in enumerate(names, start=1):
            code = f"{prefix}{number:03d}"
            store_service.create(
                session,
                program_id=program_id,
                code=code,
                name=f"{city}{name}",
                type=StoreType.franchise if number % 4 == 0 else StoreType.direct,
                city=city,
            )
            codes.append(code)
    return codes


def _order(
    session: Session,
    program: program_service.ProgramConfig,
    rng: random.Random,
    moment: datetime,
    external_id: str,
    member_no: str,
    store_code: str,
    balance: int,
    counts: dict[str, int],
    *,
    wallet: int = 0,
) -> order_service.OrderResult:
    lines = []
    for sku, name, category, price in rng.sample(
        CATALOG[:-1] if rng.random() > 0.01 else CATALOG,
        k=min(len(CATALOG) - 1, 1 + int(rng.expovariate(1.2))),
    ):
        quantity = 1 + int(rng.expovariate(2.0))
        lines.append(order_service.LineIn(sku, name, category, quantity, price, quantity * price))
    total = sum(line.amount_minor for line in lines)
    method = rng.choice(("wechat", "wechat", "alipay", "card", "cash"))
    if wallet >= total and rng.random() < 0.6:
        method = "wallet"
        counts["wallet"] += 1
    points = 0
    if balance >= 2000 and rng.random() < 0.15 and method != "wallet":
        points = min(balance // 100 * 100, total // 2 // 100 * 100, 20000)
    payments = [
        order_service.PaymentIn(method, total - points * 100 // program.points_per_currency_unit)
    ]
    if points:
        payments.append(order_service.PaymentIn("points", points=points))
    order = order_service.OrderIn(
        external_id=external_id,
        member=order_service.MemberRef(member_no=member_no),
        store_code=store_code,
        channel="store",
        occurred_at=moment,
        lines=lines,
        payments=payments,
    )
    if points:
        try:
            with session.begin_nested():
                result = order_service.post_order(
                    session, program=program, order=order, timing=Timing.replay(moment)
                )
            counts["points"] += 1
            return result
        except InsufficientPoints:  # expired since the balance was seen: pay in full instead
            order = order_service.OrderIn(
                external_id,
                order.member,
                store_code,
                "store",
                moment,
                lines,
                [order_service.PaymentIn(method, total)],
            )
    return order_service.post_order(
        session, program=program, order=order, timing=Timing.replay(moment)
    )


def _refund(
    session: Session,
    program: program_service.ProgramConfig,
    rng: random.Random,
    when: datetime,
    external_id: str,
    number: int,
) -> None:
    full = rng.random() < 0.6
    refund = order_service.RefundIn(
        external_id=f"DEMO-RF-{number + 1:06d}",
        order_external_id=external_id,
        occurred_at=when,
        lines={} if full else {1: 1},
    )
    order_service.post_refund(session, program=program, refund=refund, timing=Timing.replay(when))

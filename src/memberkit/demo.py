"""A realistic, deterministic demo data set: a chain of stores, members, two years of orders.

Everything goes through the real services (so the demo exercises the ledger as production
does), many orders per transaction to keep it quick. The chain looks like one: stores open
along the years, members shop mostly at a home store in their city, in opening hours with a
lunch and an evening peak and busier weekends; members who joined online or in the
mini-program mostly buy there; friends invite friends; behaviour events, hand adjustments
and tier grants happen; and the tiers make a pyramid (most members regular, few at the top).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from memberkit.analytics import service as analytics_service
from memberkit.config import settings
from memberkit.db import Database
from memberkit.forecast import service as forecast_service
from memberkit.growth import service as growth_service
from memberkit.kit.i18n import _
from memberkit.kit.time import Timing, iso, utcnow
from memberkit.ledger import adjustments, expiry
from memberkit.ledger import repository as ledger_repository
from memberkit.ledger.models import AccountCode, Asset
from memberkit.ledger.service import InsufficientPoints
from memberkit.member import repository as member_repository
from memberkit.member import service as member_service
from memberkit.order import repository as order_repository
from memberkit.order import service as order_service
from memberkit.program import service as program_service
from memberkit.staff import service as staff_service
from memberkit.staff.rules import Role
from memberkit.store import repository as store_repository
from memberkit.store import service as store_service
from memberkit.store.models import StoreType
from memberkit.tier import service as tier_service
from memberkit.tier.rules import DEFAULT_LADDER
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
#: sku, name, category, price (minor units), how often it is in a basket (weight).
CATALOG = [
    ("C001", "拿铁", "coffee", 3000, 30),
    ("C002", "美式", "coffee", 2500, 24),
    ("C003", "澳白", "coffee", 3200, 14),
    ("B001", "可颂", "bakery", 1800, 16),
    ("B002", "肉桂卷", "bakery", 2200, 10),
    ("M001", "保湿面霜", "beauty", 26800, 2.0),
    ("M002", "精华液", "beauty", 49900, 0.8),
    ("A001", "纯棉T恤", "apparel", 12900, 3.0),
    ("A002", "羊毛围巾", "apparel", 39900, 0.8),
    ("G001", "礼品卡", "gift_card", 50000, 0.3),
]
#: Real mobile prefixes of China Mobile, China Unicom and China Telecom (13x, 15x, 18x, 19x).
MOBILE_PREFIXES = (
    "134 135 136 137 138 139 150 151 152 157 158 159 182 183 184 187 188 195 197 198 "
    "130 131 132 155 156 185 186 196 133 153 180 181 189 191 193 199"
).split()
#: Where members join, and how often.
CHANNELS = ("store", "mini_program", "online")
CHANNEL_WEIGHTS = (72, 18, 10)
#: Orders by local hour: stores open 08:00-22:00, peaks at lunch and in the evening.
STORE_HOURS = (0, 0, 0, 0, 0, 0, 0, 0, 3, 5, 6, 9, 16, 13, 6, 5, 5, 7, 13, 12, 8, 4, 0, 0)
ONLINE_HOURS = (1, 0, 0, 0, 0, 0, 0, 2, 3, 4, 5, 7, 10, 9, 5, 5, 5, 6, 8, 10, 11, 12, 9, 4)
#: Monday to Sunday: Friday a little busier, the weekend most.
WEEKDAY_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 1.15, 1.5, 1.45)
BEHAVIOURS = ("sign_in", "review", "photo_review", "share", "profile_completed")
BEHAVIOUR_WEIGHTS = (60, 12, 5, 15, 8)
#: Hand adjustments an operator makes: points and the reason written down.
ADJUSTMENTS = ((200, "补录小票积分"), (500, "客诉补偿"), (1000, "活动奖励"), (-100, "重复积分更正"))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"


def _demo_ladder() -> dict[str, Any]:
    """Return the default ladder with thresholds for a café-and-lifestyle chain.

    A year of lattes makes silver; gold and black take a big spender, so the tiers make a
    pyramid (about 74 % regular, 17 % silver, 8 % gold, 1-2 % black on the default demo).
    """
    ladder = copy.deepcopy(DEFAULT_LADDER)
    silver, gold, black = ladder["tiers"][1:]
    silver.update(qualify={"growth_at_least": 800}, retain={"growth_at_least": 400})
    gold.update(
        qualify={
            "any": [{"growth_at_least": 2000}, {"spend_at_least": "1500.00", "within_days": 30}]
        },
        retain={"growth_at_least": 1200},
    )
    black.update(qualify={"growth_at_least": 6000}, retain={"growth_at_least": 4000})
    return ladder


DEMO_LADDER = _demo_ladder()
DEMO_RULES = {
    "points_per_unit": "1",
    "growth_per_unit": "1",
    "rounding": "floor",
    "min_order_amount": "1.00",
    "excluded_categories": ["gift_card"],
    "category_multipliers": {"beauty": "1.5"},
    "date_multipliers": [{"name": "会员日", "weekday": 3, "multiplier": "2"}],
}


#: The demo's staff: user name, display name, role, whether bound to the first store, and
#: a password that is published here, so only ever for a demo.
DEMO_STAFF = (
    ("owner", "陈总", Role.owner, False, "owner-demo-2026"),
    ("manager", "李店长", Role.store_manager, True, "manager-demo-2026"),
    ("cashier", "王收银", Role.cashier, True, "cashier-demo-2026"),
)


@dataclass(frozen=True)
class DemoLogin:
    """A demo staff account and how to sign in with it."""

    username: str
    password: str
    role: Role
    store_code: str | None


@dataclass(frozen=True)
class DemoSummary:
    """What the demo created.

    A ``resumed`` loading counts its members, orders, refunds and recharges whole, but the
    payments with points or stored value, behaviour events, adjustments and grants only as far
    as it posted them itself.
    """

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
    logins: tuple[DemoLogin, ...] = ()
    referrals: int = 0
    behaviour_events: int = 0
    adjustments: int = 0
    grants: int = 0
    resumed: bool = False


log = logging.getLogger("memberkit.demo")

#: The stages of a loading, as the CLI's progress bars and the dashboard's banner name them.
STAGES = {
    "setup": _("Opening the stores"),
    "members": _("Registering members"),
    "orders": _("Posting orders and refunds"),
    "jobs": _("Expiring points, reviewing tiers, scoring RFM and fitting the forecast"),
}

#: Members registered, and orders or side events posted, per transaction (a resume skips
#: whole batches).
MEMBER_BATCH = 250
STEP_BATCH = 200

#: Where a demo loading beside the server records how far it is (read by ``GET /health``).
STATUS_FILE = "demo-status.json"


def status_path() -> Path:
    """Return the file in the data directory that tells how far the demo loading is."""
    return settings.data_dir / STATUS_FILE


def status() -> dict[str, object] | None:
    """Return the demo loading's last recorded state, or None if none was ever started here.

    ``state`` is ``loading`` (with ``stage``, ``done``, ``total``, ``percent``), ``loaded``
    (with what was made) or ``interrupted`` (the server stopped before it was done).
    """
    try:
        found = json.loads(status_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _record(**fields: object) -> None:
    """Write the status file whole (a reader never sees half of it)."""
    path = status_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps({**fields, "at": iso(utcnow())}), encoding="utf-8")
    os.replace(partial, path)


class Stopped(Exception):
    """The server is stopping: the demo loading ends after rolling back its current batch."""


class Loader:
    """The demo, loaded in a thread beside the server so that it answers at once.

    :meth:`start` returns once the program, its stores and the staff accounts are committed
    (a few seconds), so the logins work from the first request; members and orders follow
    in batches, each its own transaction, with a log line every few percent and the state in
    :func:`status`. Stopped early (or killed), what was committed stays, the state says
    ``interrupted`` (or still ``loading``) with what the loading was asked, and
    :meth:`resuming` finishes it the next time the server starts.
    """

    def __init__(
        self,
        database: Database,
        *,
        members: int = 5000,
        orders: int = 60000,
        seed: int = 20261122,
        now: datetime | None = None,
    ) -> None:
        """Prepare to load ``members`` and ``orders`` into ``database``, drawn as of ``now``."""
        self.database = database
        self.sizes = {"members": members, "orders": orders, "seed": seed}
        self.now = now or utcnow()
        self.resumed = now is not None
        self.logins: tuple[DemoLogin, ...] = ()
        self.summary: DemoSummary | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._logged: dict[str, int] = {}
        self._thread = threading.Thread(target=self._run, name="memberkit-demo", daemon=True)

    @classmethod
    def resuming(cls, database: Database) -> Loader | None:
        """Return the loader that finishes the demo loading recorded as not done, if one is."""
        last = status() or {}
        asked = last.get("asked")
        if last.get("state") not in ("loading", "interrupted") or not isinstance(asked, dict):
            return None
        try:
            return cls(
                database,
                members=int(asked["members"]),
                orders=int(asked["orders"]),
                seed=int(asked["seed"]),
                now=datetime.fromisoformat(str(asked["now"])),
            )
        except (KeyError, TypeError, ValueError):  # written by an older version: not resumable
            return None

    def start(self) -> None:
        """Start loading; return once the stores and staff accounts are there (or it failed)."""
        self._record(state="loading", stage="setup", done=0, total=0, percent=0)
        self._thread.start()
        self._ready.wait()
        if self.error is not None:
            raise self.error

    def _record(self, **fields: object) -> None:
        """Record the state with what was asked (so a loading cut short can be resumed)."""
        _record(**fields, asked={**self.sizes, "now": iso(self.now)})

    def stop(self) -> None:
        """Stop at the end of the current batch (its transaction rolled back) and wait."""
        self._stop.set()
        self._thread.join(timeout=60)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the loading to end; tell whether it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _started(self, logins: tuple[DemoLogin, ...]) -> None:
        self.logins = logins
        self._ready.set()

    def _progress(self, stage: str, done: int, total: int) -> None:
        if self._stop.is_set():
            raise Stopped
        percent = 100 * done // total if total else 100
        self._record(state="loading", stage=stage, done=done, total=total, percent=percent)
        if percent >= self._logged.get(stage, -10) + 10 or done == total:
            self._logged[stage] = percent
            log.info("demo: %s %d/%d (%d%%)", stage, done, total, percent)

    def _run(self) -> None:
        try:
            summary = self.summary = load(
                self.database,
                members=self.sizes["members"],
                orders=self.sizes["orders"],
                seed=self.sizes["seed"],
                now=self.now,
                progress=self._progress,
                started=self._started,
            )
        except Stopped:
            last = status() or {}
            _record(**{**last, "state": "interrupted"})
            log.warning("demo: stopped before it was loaded; it resumes when the server restarts")
        except BaseException as exc:  # told to start() or logged: the server keeps serving
            self.error = exc
            _record(state="failed", error=type(exc).__name__)
            if self._ready.is_set():
                log.exception("demo: loading failed")
        else:
            _record(
                state="loaded",
                members=summary.members,
                orders=summary.orders,
                refunds=summary.refunds,
                stores=summary.stores,
            )
            log.info(
                "demo: loaded %d stores, %d members, %d orders, %d refunds",
                summary.stores,
                summary.members,
                summary.orders,
                summary.refunds,
            )
        finally:
            self._ready.set()


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
    started: Callable[[tuple[DemoLogin, ...]], None] | None = None,
) -> DemoSummary:
    """Create the demo chain, or finish one stopped midway; ``progress(stage, done, total)``.

    ``started(logins)`` is told once the program, its stores and the staff accounts are
    committed, before the members and orders (which take most of the time) are loaded.

    Every draw is made from the seed alone (each member, order and side event from its own
    generator), never from what the database holds, so the same ``seed`` and ``now`` draw the
    same chain. That is what lets a loading stopped midway resume: each batch is one
    transaction, a batch whose last row is there is skipped, and the rest is posted as it would
    have been. Only the points and stored value a resumed member pays with are read back.
    """
    rng = random.Random(seed)
    report = progress or (lambda _stage, _done, _total: None)
    start = now - timedelta(days=730)
    with database.session_scope() as session:
        program_service.ensure_default(session)
        program = program_service.get(session)
        stores, resumed = _stores(session, program.id, rng, start)
        if not resumed:
            program = program_service.configure(
                session, program=program, earning_rules=DEMO_RULES, tier_ladder=DEMO_LADDER
            )
        logins = _staff(session, program.id, stores[0].code)
    if started is not None:
        started(logins)
    tz = program.tz

    people: list[_Person] = []
    phones: set[str] = set()
    # What each wallet holds at least (refunds return more than this tracks; never less).
    wallets: dict[int, int] = {}
    referrals = recharges = 0
    batch = MEMBER_BATCH
    for first in range(0, members, batch):
        batch_drawn = [
            _draw_person(random.Random(f"{seed}/member/{number}"), tz, start, stores, phones)
            for number in range(first, min(first + batch, members))
        ]
        with database.session_scope() as session:
            done = resumed and _registered(session, program.id, batch_drawn[-1].phone) is not None
            for drawn in batch_drawn:
                referrer = None
                if people and drawn.referrer_roll < 0.12:  # invited by a friend (推荐)
                    referrer = people[-min(500, len(people)) :][
                        int(drawn.referrer_pick * min(500, len(people)))
                    ]
                    referrals += 1
                if done:
                    member_no = _registered(session, program.id, drawn.phone)
                    assert member_no is not None  # the batch committed whole
                else:
                    member_no = member_service.register(
                        session,
                        program_id=program.id,
                        phone=drawn.phone,
                        name=drawn.name,
                        gender=drawn.gender,
                        birthday=drawn.birthday,
                        store_code=drawn.home.code if drawn.channel == "store" else None,
                        channel=drawn.channel,
                        referrer_member_no=referrer.member_no if referrer else None,
                        tags=drawn.tags,
                        registered_at=drawn.joined,
                        rng=random.Random(f"{seed}/card/{drawn.phone}"),
                    ).member_no
                people.append(
                    _Person(member_no, drawn.joined, drawn.channel, drawn.home, drawn.activity)
                )
                if drawn.recharge:  # some members keep stored value (储值)
                    recharges += 1
                    if not done:
                        paid_at = drawn.joined + timedelta(minutes=5)
                        wallet_service.recharge(
                            session,
                            program=program,
                            member_no=member_no,
                            external_id=f"DEMO-RC-{len(people):06d}",
                            amount_minor=drawn.recharge,
                            method=drawn.recharge_method,
                            store_code=drawn.home.code if drawn.channel == "store" else None,
                            occurred_at=paid_at,
                            timing=Timing.replay(paid_at),
                        )
                    wallets[len(people) - 1] = drawn.recharge + program.wallet.bonus_for(
                        drawn.recharge
                    )
        report("members", min(first + batch, members), members)

    plan = _plan(rng, tz, people, stores, orders=orders, now=now)
    balances: dict[int, int] = {}
    counts = {"orders": 0, "refunds": 0, "points": 0, "wallet": 0}
    made = {"events": 0, "adjustments": 0, "grants": 0}
    pending_refunds: list[tuple[datetime, str, int]] = []
    batch = STEP_BATCH
    caught_up = not resumed
    for first in range(0, len(plan), batch):
        steps = plan[first : first + batch]
        with database.session_scope() as session:
            done = not caught_up and _posted(session, program.id, steps)
            if not done and not caught_up:
                # The first batch to post after a resume: the balances the skipped batches
                # left are read back, since their results were not seen here.
                balances, wallets = _balances(session, program.id, people)
                caught_up = True
            for step in steps:
                while pending_refunds and pending_refunds[0][0] <= step.moment:
                    when, external_id, number = pending_refunds.pop(0)
                    if not done:
                        _refund(session, program, seed, when, external_id, number)
                    counts["refunds"] += 1
                person = people[step.index]
                step_rng = random.Random(f"{seed}/{step.kind}/{step.number}")
                if step.kind != "order":
                    if not done:
                        made[step.kind] += _side_event(session, program, step_rng, step, person)
                    continue
                external_id = f"DEMO-{step.number + 1:06d}"
                counts["orders"] += 1
                refund_rng = _refund_rng(seed, step.number)
                if refund_rng.random() < 0.03:
                    pending_refunds.append(
                        (
                            step.moment + timedelta(days=refund_rng.uniform(0.1, 7)),
                            external_id,
                            step.number,
                        )
                    )
                    pending_refunds.sort()
                if done:
                    continue
                result = _order(
                    session,
                    program,
                    step_rng,
                    step.moment,
                    external_id,
                    person.member_no,
                    step.store_code,
                    balances.get(step.index, 0),
                    counts,
                    wallet=wallets.get(step.index, 0),
                    channel=step.channel,
                )
                if result.wallet_principal_paid or result.wallet_bonus_paid:
                    wallets[step.index] -= result.wallet_principal_paid + result.wallet_bonus_paid
                balances[step.index] = result.points_balance
        report("orders", min(first + batch, len(plan)), len(plan))
    with database.session_scope() as session:
        for when, external_id, number in pending_refunds:
            if when < now:
                if not _refunded(session, program.id, number):
                    _refund(session, program, seed, when, external_id, number)
                counts["refunds"] += 1

    report("jobs", 0, 1)
    expiry.run(database, program=program, as_of=now)
    with database.session_scope() as session:
        # Points expired all along the two years (each posting expires what is due first).
        expired_points = ledger_repository.system_total(
            session, program_id=program.id, asset=Asset.points, code=AccountCode.expired
        )
    # Tier periods that ended during the two years are reviewed, as the scheduler would have:
    # a run each 30 days, then one now — a member kept for a period that has also ended since
    # is judged again at that period's end (one run reviews each member's oldest period).
    kept = lowered = 0
    moment = start + timedelta(days=30)
    while True:
        run = tier_service.review(database, program=program, as_of=min(moment, now))
        kept, lowered = kept + run.kept, lowered + run.downgraded
        if moment >= now:
            break
        moment += timedelta(days=30)
    # And the day's analytics, so the RFM, forecast and segment pages open on figures.
    day = now.astimezone(program.tz).date()
    with database.session_scope() as session:
        analytics_service.refresh(session, program=program, as_of=day)
    with database.session_scope() as session:
        forecast_service.fit(session, program=program, as_of=day, refuse_future=False)
    report("jobs", 1, 1)
    return DemoSummary(
        stores=len(stores),
        members=members,
        orders=counts["orders"],
        refunds=counts["refunds"],
        points_payments=counts["points"],
        expired_points=expired_points,
        recharges=recharges,
        wallet_payments=counts["wallet"],
        tiers_kept=kept,
        tiers_lowered=lowered,
        logins=logins,
        referrals=referrals,
        behaviour_events=made["events"],
        adjustments=made["adjustments"],
        grants=made["grants"],
        resumed=resumed,
    )


@dataclass(frozen=True)
class _Store:
    code: str
    city: str
    opened_at: datetime


@dataclass(frozen=True)
class _Person:
    member_no: str
    joined: datetime
    channel: str
    home: _Store
    activity: float


@dataclass(frozen=True, order=True)
class _Step:
    """One thing that happens to a member, in time order: an order or a side event."""

    moment: datetime
    number: int
    index: int = field(compare=False)
    kind: str = field(compare=False, default="order")
    store_code: str | None = field(compare=False, default=None)
    channel: str = field(compare=False, default="store")


def _phone(rng: random.Random, taken: set[str]) -> str:
    """Draw an unused mobile number under a real operator prefix (移动, 联通, 电信)."""
    while True:
        phone = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"
        if phone not in taken:
            taken.add(phone)
            return phone


def _moment(
    rng: random.Random, tz: ZoneInfo, begin: datetime, end: datetime, *, online: bool = False
) -> datetime:
    """Draw a moment in [begin, end): busier at weekends, in opening hours with two peaks.

    Stores open 08:00-22:00 local time with a lunch and an evening peak; online and the
    mini-program also sell late in the evening.
    """
    hours = ONLINE_HOURS if online else STORE_HOURS
    first, last = begin.astimezone(tz).date(), end.astimezone(tz).date()
    span = (last - first).days
    for _attempt in range(50):
        day = first + timedelta(days=rng.randrange(span + 1))
        if rng.random() * max(WEEKDAY_WEIGHTS) > WEEKDAY_WEIGHTS[day.weekday()]:
            continue
        hour = rng.choices(range(24), weights=hours)[0]
        local = datetime.combine(day, time(hour), tzinfo=tz) + timedelta(
            seconds=rng.randrange(3600)
        )
        moment = local.astimezone(UTC)
        if begin <= moment < end:
            return moment
    return begin + (end - begin) * rng.random()  # a span too short to shape: anywhere in it


def _plan(
    rng: random.Random,
    tz: ZoneInfo,
    people: list[_Person],
    stores: list[_Store],
    *,
    orders: int,
    now: datetime,
) -> list[_Step]:
    """Draw every order and side event of the two years, in time order."""
    by_city: dict[str, list[_Store]] = {}
    for store in stores:
        by_city.setdefault(store.city, []).append(store)
    steps = []
    buyers = rng.choices(range(len(people)), weights=[p.activity for p in people], k=orders)
    last = now - timedelta(minutes=1)
    for number, index in enumerate(buyers):
        person = people[index]
        channel = "store"
        if person.channel != "store" and rng.random() < 0.7:
            channel = person.channel  # members who joined online mostly buy there
        moment = _moment(rng, tz, person.joined, last, online=channel != "store")
        code = None
        if channel == "store":
            roll = rng.random()
            if roll < 0.85:
                store = person.home  # most shopping is at the home store
            elif roll < 0.97:
                store = rng.choice(by_city[person.home.city])  # another store in the city
            else:
                store = rng.choice(stores)  # on a trip
            code = store.code if store.opened_at <= moment else person.home.code
        steps.append(_Step(moment, number, index, store_code=code, channel=channel))
    number = orders
    for index, person in enumerate(people):
        # Behaviour events (签到, 评价, 分享) for about half the members, a few each.
        events = int(rng.expovariate(1.0) * 2) if rng.random() < 0.5 else 0
        extra = [("events", events), ("adjustments", int(rng.random() < 0.01))]
        extra.append(("grants", int(rng.random() < 0.01)))
        for kind, many in extra:
            for _n in range(many):
                moment = _moment(rng, tz, person.joined, last, online=kind == "events")
                steps.append(_Step(moment, number, index, kind=kind))
                number += 1
    steps.sort()
    return steps


def _side_event(
    session: Session,
    program: program_service.ProgramConfig,
    rng: random.Random,
    step: _Step,
    person: _Person,
) -> int:
    """Post a behaviour event, a points adjustment or a tier grant; return 1 if it was made."""
    key = f"DEMO-{step.kind.upper()}-{step.number:06d}"
    if step.kind == "events":
        growth_service.record(
            session,
            program=program,
            member_no=person.member_no,
            kind=rng.choices(BEHAVIOURS, weights=BEHAVIOUR_WEIGHTS)[0],
            occurred_at=step.moment,
            external_id=key,
            timing=Timing.replay(step.moment),
        )
        return 1
    if step.kind == "adjustments":
        points, reason = rng.choice(ADJUSTMENTS)
        try:
            with session.begin_nested():
                adjustments.adjust_by_hand(
                    session,
                    program=program,
                    member_no=person.member_no,
                    points=points,
                    reason=reason,
                    actor="owner",
                    key=key,
                    now=step.moment,
                )
        except InsufficientPoints:  # a correction down needs the points to be there
            return 0
        return 1
    tier = rng.choice(("silver", "silver", "gold"))
    try:
        with session.begin_nested():
            tier_service.grant_tier(
                session,
                program=program,
                member_no=person.member_no,
                tier_code=tier,
                last_day=(step.moment + timedelta(days=90)).astimezone(program.tz).date(),
                note="VIP 客户关怀",
                actor="owner",
                key=key,
                now=step.moment,
            )
    except tier_service.GrantMovesDown:  # already higher than the grant
        return 0
    return 1


def _stores(
    session: Session, program_id: int, rng: random.Random, start: datetime
) -> tuple[list[_Store], bool]:
    """Open the chain: each city's first store before the two years, the others along them.

    Tell whether the stores were already there (a loading that stopped midway, resumed).
    """
    stores = []
    there = False
    for city, (prefix, names) in CITIES.items():
        for number, name in enumerate(names, start=1):
            code = f"{prefix}{number:03d}"
            days = rng.randrange(400, 2000) if number == 1 else rng.randrange(-500, 700)
            opened_at = start - timedelta(days=days, hours=rng.randrange(24))
            if store_repository.by_code(session, program_id=program_id, code=code) is not None:
                there = True
            else:
                store_service.create(
                    session,
                    program_id=program_id,
                    code=code,
                    name=f"{city}{name}",
                    type=StoreType.franchise if number % 4 == 0 else StoreType.direct,
                    city=city,
                    opened_at=opened_at,
                )
            stores.append(_Store(code, city, opened_at))
    return stores, there


@dataclass(frozen=True)
class _Drawn:
    """A member as drawn, before registering (the card number comes from the register)."""

    phone: str
    name: str
    gender: str
    birthday: date
    channel: str
    joined: datetime
    home: _Store
    tags: list[str]
    activity: float
    referrer_roll: float
    referrer_pick: float
    recharge: int
    recharge_method: str


def _draw_person(
    rng: random.Random, tz: ZoneInfo, start: datetime, stores: list[_Store], phones: set[str]
) -> _Drawn:
    """Draw one member of the chain from their own generator."""
    channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
    when = _moment(rng, tz, start, start + timedelta(days=700), online=channel != "store")
    opened = [store for store in stores if store.opened_at <= when]
    return _Drawn(
        phone=_phone(rng, phones),
        name=rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
        gender=rng.choice(("male", "female", "female", "unknown")),
        birthday=date(rng.randrange(1960, 2006), rng.randrange(1, 13), rng.randrange(1, 29)),
        channel=channel,
        joined=when,
        home=rng.choice(opened),
        tags=rng.sample(
            ["coffee_lover", "beauty", "student", "office", "family"], k=rng.randrange(0, 3)
        ),
        # Long-tailed activity: a few members buy very often, most rarely.
        activity=rng.lognormvariate(0, 1.4),
        referrer_roll=rng.random(),
        referrer_pick=rng.random(),
        recharge=rng.choice((20_000, 50_000, 100_000)) if rng.random() < 0.08 else 0,
        recharge_method=rng.choice(("wechat", "alipay", "cash")),
    )


def _registered(session: Session, program_id: int, phone: str) -> str | None:
    """Return the card number of the member registered with ``phone``, if one is."""
    return member_repository.member_no_by_phone(
        session, program_id=program_id, index=member_service.phone_index(phone)
    )


def _posted(session: Session, program_id: int, steps: list[_Step]) -> bool:
    """Tell whether a batch of steps was posted (it committed whole: its last order is there)."""
    numbers = [step.number for step in steps if step.kind == "order"]
    return bool(numbers) and order_repository.order_exists(
        session, program_id=program_id, external_id=f"DEMO-{numbers[-1] + 1:06d}"
    )


def _balances(
    session: Session, program_id: int, people: list[_Person]
) -> tuple[dict[int, int], dict[int, int]]:
    """Read back each member's points and stored value (by their place in ``people``)."""
    points, wallets = {}, {}
    for index, person in enumerate(people):
        member = member_service.find(session, program_id=program_id, member_no=person.member_no)
        held = ledger_repository.member_balances(session, member_id=member.id)
        points[index] = held.get(Asset.points, 0)
        wallets[index] = held.get(Asset.wallet_principal, 0) + held.get(Asset.wallet_bonus, 0)
    return points, wallets


def _refund_rng(seed: int, number: int) -> random.Random:
    """The generator of whether, when and how order ``number`` is refunded."""
    return random.Random(f"{seed}/refund/{number}")


def _refunded(session: Session, program_id: int, number: int) -> bool:
    """Tell whether the refund of order ``number`` was posted."""
    return order_repository.refund_exists(
        session, program_id=program_id, external_id=f"DEMO-RF-{number + 1:06d}"
    )


def _staff(session: Session, program_id: int, store_code: str) -> tuple[DemoLogin, ...]:
    """Make the demo's staff accounts; a name already taken (by a real account) is left alone."""
    taken = {
        user.username.lower() for user in staff_service.list_users(session, program_id=program_id)
    }
    logins = []
    for username, name, role, bound, password in DEMO_STAFF:
        if username in taken:
            continue
        store = store_code if bound else None
        staff_service.create_user(
            session,
            program_id=program_id,
            username=username,
            password=password,
            role=role,
            display_name=name,
            stores=[store] if store else (),
        )
        logins.append(DemoLogin(username, password, role, store))
    return tuple(logins)


def _order(
    session: Session,
    program: program_service.ProgramConfig,
    rng: random.Random,
    moment: datetime,
    external_id: str,
    member_no: str,
    store_code: str | None,
    balance: int,
    counts: dict[str, int],
    *,
    wallet: int = 0,
    channel: str = "store",
) -> order_service.OrderResult:
    lines = []
    items = 1 + (rng.random() < 0.35) + (rng.random() < 0.1)
    for sku, name, category, price, _weight in {
        item[0]: item for item in rng.choices(CATALOG, weights=[i[4] for i in CATALOG], k=items)
    }.values():
        quantity = 1 + (rng.random() < 0.2) if price < 5000 else 1
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
        channel=channel,
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
                channel,
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
    seed: int,
    when: datetime,
    external_id: str,
    number: int,
) -> None:
    full = random.Random(f"{seed}/refund-lines/{number}").random() < 0.6
    refund = order_service.RefundIn(
        external_id=f"DEMO-RF-{number + 1:06d}",
        order_external_id=external_id,
        occurred_at=when,
        lines={} if full else {1: 1},
    )
    order_service.post_refund(session, program=program, refund=refund, timing=Timing.replay(when))

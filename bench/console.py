"""The console at scale: every list, search and member page on 1,000,000 members (PostgreSQL).

Builds a chain of ``--members`` members in a database of its own (``memberkit_bench_<random>``
on ``--server``; dropped at the end unless ``--keep``), or measures an existing one (``--url``,
built by an earlier ``--keep`` run: it is built only if it holds no member). The data go in
through COPY, row by row as the app writes them: personal data sealed with the app's own
helpers (AES-GCM bound to the row, the phone's and the name's blind index), 50 stores, tiers
as a pyramid, tags, registrations over five years; a subset of members has orders, each with
its line, its earn transaction (points and growth entries, the member's running balance), its
points lot, and members' balances equal to their entries; a few hundred members have 200+
orders. The audit log, staff, API keys and webhooks get rows too.

Then it signs in through ``/login`` as the owner and as a store manager (bound to one store)
and asks the real app (FastAPI's TestClient, in this process) for each page ``--requests``
times with varied targets, and prints p50, p95 and max in ms per page, with the ratio of the
p95 to a baseline measured in the same run: a plain-SQL primary-key select of a member
through the same connection pool. Pages whose p95 is over 300 ms are marked ``SLOW``.

    .venv/bin/python bench/console.py                       # 1,000,000 members, ~10 min build
    .venv/bin/python bench/console.py --members 100000 --keep
    .venv/bin/python bench/console.py --url postgresql+psycopg://postgres@127.0.0.1:5432/memberkit_bench_x

Not run by the tests or CI.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from rich.progress import Progress
from sqlalchemy import Engine, create_engine, func, inspect, make_url, select, text

from memberkit import demo, migrate
from memberkit.app import create_app
from memberkit.auth import service as apikey_service
from memberkit.cli.common import progress_bar
from memberkit.config import configure, settings
from memberkit.db import Database, get_database
from memberkit.kit import crypto
from memberkit.ledger.models import AccountCode, Asset
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.member.rules import new_member_no
from memberkit.order.models import Order
from memberkit.program import service as program_service
from memberkit.staff import service as staff_service
from memberkit.store import service as store_service
from memberkit.store.models import StoreType
from memberkit.webhook import service as webhook_service

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
#: The bench's own master key: the same on every run, so a kept database can be measured again.
SECRET = "memberkit-bench-secret-key-not-for-production"
PASSWORD = "bench-password-2026"
LIMIT_MS = 300
TAGS = ("coffee_lover", "beauty", "student", "office", "family", "vip", "night_owl", "runner")
#: The ladder's tier codes and their share of members: a pyramid.
TIERS = (("regular", 74.0), ("silver", 17.0), ("gold", 7.5), ("black", 1.5))
STATUSES = (("active", 97.0), ("frozen", 2.0), ("closed", 1.0))
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国文玉晨浩宇欣怡子涵梓轩雨"
PREFIXES = ("134", "135", "136", "137", "138", "139", "150", "151", "152", "158", "159", "182")
PREFIXES += ("183", "187", "188", "130", "131", "132", "155", "156", "185", "186", "133", "153")
PREFIXES += ("180", "181", "189", "191", "199")
CITIES = ("上海", "北京", "杭州", "深圳", "广州", "成都", "南京", "苏州", "武汉", "西安")
BATCH = 20_000


@dataclass
class Sizes:
    """How much the build makes."""

    members: int
    stores: int = 50
    #: Members with orders, and of those the heavy ones (200+ orders each).
    buyers: int = 0
    heavy: int = 0
    audit: int = 50_000

    def __post_init__(self) -> None:
        self.buyers = self.buyers or max(10, self.members // 25)
        self.heavy = self.heavy or max(2, min(300, self.members // 3000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30, help="requests per page")
    parser.add_argument("--server", default=SERVER, help="where to create the bench database")
    parser.add_argument("--url", help="an existing database to measure (built if empty)")
    parser.add_argument("--keep", action="store_true", help="keep the database it created")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    with _database(args) as url:
        with tempfile.TemporaryDirectory() as tmp:
            configure(
                database_url=url,
                data_dir=tmp,
                secret_key=SECRET,
                scheduler=False,
                outbox_worker=False,
            )
            database = get_database()
            began = time.perf_counter()
            if args.url is None:
                migrate.upgrade(database.engine)
            if _members(database.engine) == 0:
                migrate.upgrade(database.engine)
                build(database, Sizes(args.members), random.Random(args.seed))
                print(f"built in {time.perf_counter() - began:.0f} s")
            if not args.build_only:
                measure(database, requests=args.requests, rng=random.Random(args.seed + 1))
            database.dispose()


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[str]:
    """The URL to work on: ``--url``, or a database created here and dropped unless kept."""
    if args.url:
        yield args.url
        return
    name = f"memberkit_bench_{uuid.uuid4().hex[:8]}"
    server = create_engine(args.server, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.server).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        get_database().dispose()
        if args.keep:
            print(f"kept: --url {url}")
        else:
            with server.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def _members(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Member)).scalar_one())


# --- the build --------------------------------------------------------------------------------


def build(database: Database, sizes: Sizes, rng: random.Random) -> None:
    """Make the chain: settings, stores, staff, then the members and their history by COPY."""
    now = datetime.now(UTC).replace(microsecond=0)
    with database.session_scope() as session:
        program_service.ensure_default(session)
        program = program_service.get(session)
        program = program_service.configure(
            session, program=program, earning_rules=demo.DEMO_RULES, tier_ladder=demo.DEMO_LADDER
        )
        codes = [f"S{n:03d}" for n in range(1, sizes.stores + 1)]
        for n, code in enumerate(codes):
            store_service.create(
                session,
                program_id=program.id,
                code=code,
                name=f"{CITIES[n % len(CITIES)]}{n + 1}号店",
                type=StoreType.franchise if n % 4 == 3 else StoreType.direct,
                city=CITIES[n % len(CITIES)],
                opened_at=now - timedelta(days=2000),
            )
        staffed = [("owner", "owner", ()), ("manager", "store_manager", (codes[0],))]
        staffed += [(f"manager{n:02d}", "store_manager", (code,)) for n, code in enumerate(codes)]
        staffed += [(f"cashier{n:02d}", "cashier", (code,)) for n, code in enumerate(codes)]
        cheap = (settings.password_time_cost, settings.password_memory_kib)
        for username, role, stores in staffed:
            if username not in ("owner", "manager"):  # the many others: cheap hashes
                settings.password_time_cost, settings.password_memory_kib = 1, 8192
            staff_service.create_user(
                session,
                program_id=program.id,
                username=username,
                password=PASSWORD,
                role=role,
                stores=stores,
            )
            settings.password_time_cost, settings.password_memory_kib = cheap
        for n, code in enumerate(codes[:20]):
            apikey_service.create(
                session, program_id=program.id, name=f"POS {code}", scope="pos", store_code=code
            )
            if n < 5:
                webhook_service.subscribe(
                    session,
                    program_id=program.id,
                    url=f"https://hooks.example.com/memberkit/{n}",
                    event_types=[],
                    description=f"CRM {n}",
                )
        store_ids = dict(
            session.execute(
                text("SELECT code, id FROM stores WHERE program_id = :p"), {"p": program.id}
            ).all()
        )
        staff_ids = [
            row[0]
            for row in session.execute(
                text("SELECT id FROM staff_users WHERE program_id = :p"), {"p": program.id}
            )
        ]
        system = dict(
            session.execute(
                text(
                    "SELECT asset || ':' || code, id FROM accounts"
                    " WHERE program_id = :p AND member_id IS NULL"
                ),
                {"p": program.id},
            ).all()
        )
    stores = [store_ids[code] for code in codes]
    raw = database.engine.raw_connection()
    try:
        connection: Any = raw.driver_connection
        with connection.cursor() as cursor:
            # Rows valid by construction: no foreign-key trigger per row (superuser only),
            # and commits of the build that need not wait for the disk.
            cursor.execute("SET session_replication_role = replica")
            cursor.execute("SET synchronous_commit = off")
        with progress_bar() as progress:
            plan = _members_plan(
                connection,
                program.id,
                sizes,
                stores,
                rng,
                now,
                progress,
                account_base=max(system.values()),
            )
            _history(connection, program.id, plan, system, rng, now, progress)
            _audit(connection, program.id, staff_ids, sizes.audit, rng, now, progress)
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("SET synchronous_commit = on")
            for table_name in (
                "members",
                "accounts",
                "orders",
                "order_lines",
                "ledger_transactions",
                "ledger_entries",
                "points_lots",
                "audit_entries",
            ):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'),"
                    f" (SELECT coalesce(max(id), 1) FROM {table_name}))"
                )
        connection.commit()
        # What autovacuum does to a database that has been up a while: statistics, and the
        # visibility map that lets an index answer alone.
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    finally:
        raw.close()


@dataclass
class _Plan:
    """What the member rows decided that the history needs."""

    #: Account ids of member n are account_base + 4 (n - 1) + 1..4 (after the system's).
    account_base: int = 0
    created: list[datetime] = field(default_factory=list)
    store: list[int | None] = field(default_factory=list)
    #: Member id -> how many orders they make.
    orders: dict[int, int] = field(default_factory=dict)


def _weighted(rng: random.Random, choices: tuple[tuple[str, float], ...], k: int) -> list[str]:
    return rng.choices([c for c, _w in choices], weights=[w for _c, w in choices], k=k)


def _members_plan(
    connection: Any,
    program_id: int,
    sizes: Sizes,
    stores: list[int],
    rng: random.Random,
    now: datetime,
    progress: Progress,
    *,
    account_base: int,
) -> _Plan:
    """COPY the members (sealed as the app seals them) and their four accounts each."""
    members = sizes.members
    task = progress.add_task("members", total=members)
    start = now - timedelta(days=5 * 365)
    span = (now - timedelta(days=1) - start).total_seconds()
    # Registrations grow over the years: the n-th member joined at start + span * sqrt(n/N).
    plan = _Plan(account_base=account_base)
    numbers: set[str] = set()
    phones: set[str] = set()
    has_name_index = hasattr(Member, "name_index")
    has_tag_table = "member_tags" in inspect(connection_engine(connection)).get_table_names()
    columns = [
        "id",
        "program_id",
        "member_no",
        "phone_index",
        "phone_enc",
        "name_enc",
        "email_enc",
        "birthday_enc",
        "gender",
        "store_id",
        "channel",
        "tags",
        "status",
        "tier_code",
        "tier_since",
        "created_at",
        "updated_at",
    ]
    if has_name_index:
        columns.append("name_index")
    tiers = _weighted(rng, TIERS, members)
    statuses = _weighted(rng, STATUSES, members)
    buyers = set(rng.sample(range(1, members + 1), min(sizes.buyers, members)))
    heavy = set(rng.sample(sorted(buyers), min(sizes.heavy, len(buyers))))
    for first in range(1, members + 1, BATCH):
        last = min(first + BATCH, members + 1)
        member_rows, account_rows, tag_rows = [], [], []
        for member_id in range(first, last):
            created = start + timedelta(seconds=span * ((member_id / members) ** 0.5))
            created = created.replace(microsecond=0)
            member_no = new_member_no(rng)
            while member_no in numbers:
                member_no = new_member_no(rng)
            numbers.add(member_no)
            phone = rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}"
            while phone in phones:
                phone = rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}"
            phones.add(phone)
            name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2, 2))))
            channel = rng.choices(("store", "mini_program", "online"), weights=(75, 18, 7))[0]
            store_id = rng.choice(stores) if channel == "store" else None
            tags = sorted(rng.sample(TAGS, k=rng.choice((0, 0, 1, 1, 2, 3))))
            birthday = (
                f"{rng.randrange(1960, 2006)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
                if rng.random() < 0.7
                else None
            )
            email = f"m{member_id}@example.com" if rng.random() < 0.2 else None
            row = [
                member_id,
                program_id,
                member_no,
                crypto.blind_index(phone),
                member_service._seal(program_id, member_no, "phone", phone),
                member_service._seal(program_id, member_no, "name", name),
                member_service._seal(program_id, member_no, "email", email),
                member_service._seal(program_id, member_no, "birthday", birthday),
                rng.choice(("male", "female", "female", "unknown")),
                store_id,
                channel,
                json.dumps(tags),
                statuses[member_id - 1],
                tiers[member_id - 1],
                created,
                created,
                created,
            ]
            if has_name_index:
                row.append(member_service.name_index(name))
            member_rows.append(row)
            tag_rows.extend((program_id, tag, member_id) for tag in tags)
            base = account_base + (member_id - 1) * 4
            for n, asset in enumerate(Asset):
                account_rows.append((base + n + 1, program_id, member_id, asset.value, "member", 0))
            plan.created.append(created)
            plan.store.append(store_id)
            if member_id in heavy:
                plan.orders[member_id] = rng.randrange(200, 400)
            elif member_id in buyers:
                plan.orders[member_id] = max(1, min(150, int(rng.lognormvariate(1.6, 1.0))))
        _copy(connection, "members", columns, member_rows)
        _copy(
            connection,
            "accounts",
            ["id", "program_id", "member_id", "asset", "code", "balance"],
            account_rows,
        )
        if has_tag_table:
            _copy(connection, "member_tags", ["program_id", "tag", "member_id"], tag_rows)
        connection.commit()
        progress.update(task, completed=last - 1)
    return plan


def connection_engine(connection: Any) -> Engine:
    """The process's engine (for the inspector; the raw connection is the same database)."""
    return get_database().engine


def _copy(connection: Any, table_name: str, columns: list[str], rows: list[Any]) -> None:
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {table_name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _history(
    connection: Any,
    program_id: int,
    plan: _Plan,
    system: dict[str, int],
    rng: random.Random,
    now: datetime,
    progress: Progress,
) -> None:
    """COPY orders, lines, earn transactions, entries and lots; set balances to the entries.

    Each order earns a point and a growth point per yuan: a transaction of four entries
    (the member's points, with the lot, and growth, each with the running balance; the
    issued accounts' counterparts), as the posting path writes them.
    """
    total = sum(plan.orders.values())
    task = progress.add_task("orders", total=total)
    issued_points = system[f"{Asset.points.value}:{AccountCode.issued.value}"]
    issued_growth = system[f"{Asset.growth.value}:{AccountCode.issued.value}"]
    order_id = entry_id = 0
    orders, lines, transactions, entries, lots, balances = [], [], [], [], [], []

    def flush() -> None:
        _copy(
            connection,
            "orders",
            [
                "id",
                "program_id",
                "external_id",
                "member_id",
                "store_id",
                "channel",
                "occurred_at",
                "total_minor",
                "eligible_minor",
                "points_paid",
                "points_earned",
                "growth_earned",
                "refunded_minor",
                "points_reversed",
                "growth_reversed",
                "points_returned",
                "created_at",
            ],
            orders,
        )
        _copy(
            connection,
            "order_lines",
            [
                "order_id",
                "line_no",
                "sku",
                "name",
                "category",
                "quantity",
                "unit_price_minor",
                "amount_minor",
                "earn_weight",
                "growth_weight",
                "refunded_quantity",
                "refunded_minor",
            ],
            lines,
        )
        _copy(
            connection,
            "ledger_transactions",
            [
                "id",
                "program_id",
                "member_id",
                "kind",
                "idempotency_key",
                "actor",
                "order_id",
                "occurred_at",
                "created_at",
            ],
            transactions,
        )
        _copy(
            connection,
            "points_lots",
            [
                "id",
                "program_id",
                "member_id",
                "transaction_id",
                "amount",
                "remaining",
                "earned_at",
                "expires_at",
            ],
            lots,
        )
        _copy(
            connection,
            "ledger_entries",
            ["id", "transaction_id", "account_id", "asset", "amount", "balance_after", "lot_id"],
            entries,
        )
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE accounts SET balance = %s WHERE id = %s", balances, returning=False
            )
        connection.commit()
        for rows in (orders, lines, transactions, entries, lots, balances):
            rows.clear()
        progress.update(task, completed=order_id)

    for member_id, count in sorted(plan.orders.items()):
        joined = max(plan.created[member_id - 1], now - timedelta(days=730))
        home = plan.store[member_id - 1]
        seconds = max(3600.0, (now - timedelta(hours=1) - joined).total_seconds())
        # Recent orders weigh more: a chain that grows, and a dashboard that has a month.
        moments = sorted(
            joined + timedelta(seconds=int(seconds * (1 - rng.random() ** 1.6)))
            for _n in range(count)
        )
        points_account = plan.account_base + (member_id - 1) * 4 + 1
        growth_account = points_account + 1
        points = growth = 0
        for at in moments:
            order_id += 1
            entry_id += 4
            total_minor = rng.choice((1800, 2800, 3200, 3800, 4500, 6800, 12800, 25900))
            earned = total_minor // 100
            points += earned
            growth += earned
            store_id = home if home is not None and rng.random() < 0.85 else None
            channel = "store" if store_id is not None else "mini_program"
            external = f"B{order_id:09d}"
            orders.append(
                (
                    order_id,
                    program_id,
                    external,
                    member_id,
                    store_id,
                    channel,
                    at,
                    total_minor,
                    total_minor,
                    0,
                    earned,
                    earned,
                    0,
                    0,
                    0,
                    0,
                    at,
                )
            )
            lines.append(
                (
                    order_id,
                    1,
                    f"SKU{total_minor}",
                    "拿铁" if total_minor < 5000 else "礼盒",
                    "coffee",
                    1,
                    total_minor,
                    total_minor,
                    earned * 10**6,
                    earned * 10**6,
                    0,
                    0,
                )
            )
            transactions.append(
                (
                    order_id,
                    program_id,
                    member_id,
                    "earn",
                    f"order:{external}",
                    "bench",
                    order_id,
                    at,
                    at,
                )
            )
            lots.append(
                (
                    order_id,
                    program_id,
                    member_id,
                    order_id,
                    earned,
                    earned,
                    at,
                    at + timedelta(days=3 * 365),
                )
            )
            entries.append(
                (entry_id - 3, order_id, points_account, "points", earned, points, order_id)
            )
            entries.append((entry_id - 2, order_id, issued_points, "points", -earned, None, None))
            entries.append((entry_id - 1, order_id, growth_account, "growth", earned, growth, None))
            entries.append((entry_id, order_id, issued_growth, "growth", -earned, None, None))
        balances.append((points, points_account))
        balances.append((growth, growth_account))
        if len(orders) >= BATCH * 2:
            flush()
    flush()


def _audit(
    connection: Any,
    program_id: int,
    staff_ids: list[int],
    count: int,
    rng: random.Random,
    now: datetime,
    progress: Progress,
) -> None:
    """COPY a year of the audit log: staff changing members' profiles and points."""
    task = progress.add_task("audit log", total=count)
    actions = ("member.points", "member.profile", "member.status", "store.update", "staff.create")
    rows = []
    for n in range(1, count + 1):
        at = now - timedelta(seconds=int(365 * 86400 * (count - n) / count))
        rows.append(
            (
                uuid.uuid4().hex,
                program_id,
                rng.choice(staff_ids),
                "manager",
                rng.choice(actions),
                "member",
                f"8{n:011d}",
                json.dumps({"points": 0}),
                json.dumps({"points": 100}),
                at,
                "127.0.0.1",
                "bench",
            )
        )
    _copy(
        connection,
        "audit_entries",
        [
            "uid",
            "program_id",
            "actor_id",
            "actor_name",
            "action",
            "subject_type",
            "subject_id",
            "before",
            "after",
            "at",
            "ip",
            "user_agent",
        ],
        rows,
    )
    connection.commit()
    progress.update(task, completed=count)


# --- the measurement --------------------------------------------------------------------------


@dataclass
class Targets:
    """What the requests ask for: real members' card numbers, phones, names, tags, ids."""

    members: list[dict[str, Any]]
    heavy: list[str]
    store_members: list[dict[str, Any]]
    max_id: int


def targets(database: Database, rng: random.Random, count: int) -> Targets:
    """Pick random members (their personal data opened as the app opens it) and heavy buyers."""
    with database.session_scope(read_only=True) as session:
        max_id = int(session.scalar(select(func.max(Member.id))) or 0)
        ids = [rng.randrange(1, max_id + 1) for _n in range(count * 3)]
        found = session.scalars(select(Member).where(Member.id.in_(ids))).all()
        members = [_target(member) for member in found]
        heavy = list(
            session.scalars(
                select(Member.member_no)
                .join(Order, Order.member_id == Member.id)
                .group_by(Member.member_no)
                .having(func.count() >= 200)
                .limit(count)
            )
        )
        manager_store = session.scalar(text("SELECT id FROM stores WHERE code = 'S001'"))
        store_found = session.scalars(
            select(Member).where(
                Member.store_id == manager_store,
                Member.id.in_(
                    select(Member.id)
                    .where(Member.store_id == manager_store)
                    .order_by(func.random())
                    .limit(count)
                ),
            )
        ).all()
    return Targets(members, heavy, [_target(m) for m in store_found], max_id)


def _target(member: Member) -> dict[str, Any]:
    personal = member_service.personal(member)
    return {
        "id": member.id,
        "member_no": member.member_no,
        "tags": list(member.tags or []),
        "phone": personal["phone"],
        "name": personal["name"],
    }


@dataclass
class Result:
    """One page's timings."""

    name: str
    times: list[float]
    statuses: set[int]

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (nearest rank) of the times."""
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(name: str, count: int, ask: Callable[[int], int], budget: float = 90.0) -> Result:
    """Ask ``count`` times (fewer when the page eats its time budget); times in ms."""
    times, statuses = [], set()
    ask(0)  # warm: templates compiled, caches filled, as a server that has been up
    began = time.perf_counter()
    for n in range(count):
        start = time.perf_counter()
        statuses.add(ask(n))
        times.append((time.perf_counter() - start) * 1000)
        if time.perf_counter() - began > budget and n >= 4:
            break
    return Result(name, times, statuses)


def measure(database: Database, *, requests: int, rng: random.Random) -> None:
    """Sign in as the owner and a store manager and time every page; print the table."""
    picked = targets(database, rng, requests)
    members = picked.members
    results: list[Result] = []

    def pick(n: int) -> dict[str, Any]:
        return members[n % len(members)]

    # The baseline: one member by primary key, plain SQL, through the same pool.
    def baseline(n: int) -> int:
        with database.engine.connect() as connection:
            connection.execute(
                text("SELECT * FROM members WHERE id = :id"), {"id": pick(n)["id"]}
            ).one()
        return 200

    base = timed("baseline: member by id (plain SQL)", max(requests, 100), baseline)
    results.append(base)
    with TestClient(create_app(scheduler=False, outbox_worker=False)) as client:
        _sign_in(client, "owner")
        pages = _owner_pages(picked, rng)
        for name, url in pages:
            results.append(timed(name, requests, lambda n, url=url: client.get(url(n)).status_code))
        results.append(
            timed(
                "CSV export: first member row",
                requests,
                lambda n: _first_row(client, "/admin/members.csv"),
            )
        )
        client.cookies.clear()
        _sign_in(client, "manager")
        for name, url in _manager_pages(picked):
            results.append(timed(name, requests, lambda n, url=url: client.get(url(n)).status_code))
        results.append(
            timed(
                "manager: CSV first member row",
                requests,
                lambda n: _first_row(client, "/admin/members.csv"),
            )
        )
    _print(results, base, database)


def _sign_in(client: TestClient, username: str) -> None:
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": "/admin"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:300]


def _first_row(client: TestClient, url: str) -> int:
    with client.stream("GET", url) as answer:
        seen = b""
        for chunk in answer.iter_bytes():
            seen += chunk
            if seen.count(b"\n") >= 2:
                break
        return answer.status_code


def _owner_pages(picked: Targets, rng: random.Random) -> list[tuple[str, Callable[[int], str]]]:
    members, heavy = picked.members, picked.heavy or [picked.members[0]["member_no"]]
    deep = [rng.randrange(1, picked.max_id) for _n in range(200)]
    months = [rng.randrange(0, 58) for _n in range(200)]
    tiers = ("regular", "silver", "gold", "black")
    stores = [f"S{rng.randrange(1, 51):03d}" for _n in range(200)]

    def span(n: int) -> str:
        first = datetime.now(UTC).date() - timedelta(days=30 * (months[n] + 2))
        return f"from={first.isoformat()}&to={(first + timedelta(days=60)).isoformat()}"

    named = [m for m in members if m["name"]]
    tagged = [m for m in members if m["tags"]]
    return [
        ("members: first page", lambda n: "/admin/members"),
        ("members: deep page (keyset)", lambda n: f"/admin/members?before={deep[n]}"),
        ("members: tier", lambda n: f"/admin/members?tier={tiers[n % 4]}"),
        ("members: store", lambda n: f"/admin/members?store={stores[n]}"),
        ("members: status frozen", lambda n: "/admin/members?status=frozen"),
        ("members: status closed", lambda n: "/admin/members?status=closed"),
        ("members: registered between", lambda n: f"/admin/members?{span(n)}"),
        (
            "members: store+tier+status+dates",
            lambda n: (
                f"/admin/members?store={stores[n]}&tier={tiers[n % 4]}&status=active&{span(n)}"
            ),
        ),
        ("members: store+black tier", lambda n: f"/admin/members?store={stores[n]}&tier=black"),
        ("search: phone", lambda n: f"/admin/members?q={members[n % len(members)]['phone']}"),
        (
            "search: card number",
            lambda n: f"/admin/members?q={members[n % len(members)]['member_no']}",
        ),
        ("search: full name", lambda n: f"/admin/members?q={named[n % len(named)]['name']}"),
        ("search: tag", lambda n: f"/admin/members?q={tagged[n % len(tagged)]['tags'][0]}"),
        (
            "search: tag + store",
            lambda n: f"/admin/members?q={tagged[n % len(tagged)]['tags'][0]}&store={stores[n]}",
        ),
        (
            "member page: any member",
            lambda n: f"/admin/members/{members[n % len(members)]['member_no']}",
        ),
        ("member page: 200+ orders", lambda n: f"/admin/members/{heavy[n % len(heavy)]}"),
        ("dashboard", lambda n: "/admin"),
        ("audit log", lambda n: "/admin/audit"),
        ("audit log: by action", lambda n: "/admin/audit?action=member.points"),
        ("stores", lambda n: "/admin/stores"),
        ("staff", lambda n: "/admin/staff"),
        ("API keys", lambda n: "/admin/api-keys"),
        ("webhooks", lambda n: "/admin/webhooks"),
    ]


def _manager_pages(picked: Targets) -> list[tuple[str, Callable[[int], str]]]:
    mine = picked.store_members or picked.members
    others = picked.members
    heavy = picked.heavy or [others[0]["member_no"]]
    named = [m for m in mine if m["name"]]
    tagged = [m for m in mine if m["tags"]]
    return [
        ("manager: members first page", lambda n: "/admin/members"),
        ("manager: members tier", lambda n: "/admin/members?tier=gold"),
        ("manager: search phone", lambda n: f"/admin/members?q={mine[n % len(mine)]['phone']}"),
        ("manager: search name", lambda n: f"/admin/members?q={named[n % len(named)]['name']}"),
        ("manager: search tag", lambda n: f"/admin/members?q={tagged[n % len(tagged)]['tags'][0]}"),
        (
            "manager: own member page",
            lambda n: f"/admin/members/{mine[n % len(mine)]['member_no']}",
        ),
        ("manager: other store's member", lambda n: f"/admin/members/{heavy[n % len(heavy)]}"),
        ("manager: dashboard", lambda n: "/admin"),
    ]


def _print(results: list[Result], base: Result, database: Database) -> None:
    with database.engine.connect() as connection:
        counts = {
            name: connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
            for name in ("members", "orders", "ledger_entries", "points_lots", "audit_entries")
        }
        version = connection.execute(text("SHOW server_version")).scalar_one()
    print()
    print(
        ", ".join(f"{name} {count:,}" for name, count in counts.items()) + f"; PostgreSQL {version}"
    )
    baseline = base.quantile(0.5)
    print(f"{'page':40} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p95/base':>9}  status")
    for result in results:
        p95 = result.quantile(0.95)
        mark = "  SLOW" if p95 > LIMIT_MS else ""
        statuses = ",".join(str(s) for s in sorted(result.statuses))
        print(
            f"{result.name[:40]:40} {len(result.times):4d} {result.quantile(0.5):8.1f} "
            f"{p95:8.1f} {max(result.times):8.1f} {p95 / baseline:9.0f}x  {statuses}{mark}"
        )
    slow = [r.name for r in results if r.quantile(0.95) > LIMIT_MS]
    print(
        f"\n{len(slow)} of {len(results) - 1} pages over {LIMIT_MS} ms at p95"
        + (": " + "; ".join(slow) if slow else "")
    )


if __name__ == "__main__":
    main()

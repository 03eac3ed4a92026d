"""Orders per second of posting an earning order, by three paths, against a plain-SQL baseline.

Every order is the API contract's example: one line (2 × 拿铁 at 30.00), paid 60.00 by WeChat,
earning 60 points and 60 growth. Orders go round-robin over many members, one order per
transaction, after a warm-up, on the same migrated database and the same engine settings
(SQLite: WAL, synchronous=FULL, BEGIN IMMEDIATE; PostgreSQL: synchronous_commit=on).

  baseline  hand-written SQL (SQLAlchemy ``text``) on one held connection: look the member up
            (``FOR UPDATE`` on PostgreSQL), insert the order, its line and payment, the ledger
            transaction, the points lot, four ledger entries in one statement, the
            ``order.posted`` outbox event and the idempotency record, and update the two
            balances with ``RETURNING``; one commit.
  service   ``order.service.post_order`` in ``Database.session_scope()``, between the
            idempotency replay check and record the API does, so it writes the same rows.
  http      ``POST /api/v1/orders`` to a real uvicorn server of ``create_app`` in a child
            process on 127.0.0.1, one keep-alive ``httpx.Client``, one request at a time.

Every path must write exactly the same rows per order (one in each table, four ledger entries)
and leave a balanced ledger whose cached balances match its entries, or the run fails.

SQLite always runs, on a temporary file; PostgreSQL runs too when MEMBERKIT_BENCH_DATABASE_URL
(or MEMBERKIT_TEST_DATABASE_URL) names a server, in a database ``memberkit_bench_<random>``
created for the run and dropped after it.

    .venv/bin/python bench/earn.py [--orders 2000] [--members 200] [--only postgresql]
    .venv/bin/python bench/earn.py --profile 25      # cProfile of the service path instead
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import JSON, Connection, bindparam, text

from memberkit import migrate
from memberkit.auth import service as auth_service
from memberkit.config import configure, settings
from memberkit.db import Database, get_database
from memberkit.idempotency import service as idempotency
from memberkit.kit.money import format_money
from memberkit.kit.time import iso
from memberkit.kit.types import UTCDateTime
from memberkit.ledger import repository as ledger_repository
from memberkit.ledger.models import AccountCode, Asset
from memberkit.member import service as member_service
from memberkit.order import rules
from memberkit.order import service as order_service
from memberkit.program import service as program_service
from memberkit.program.service import ProgramConfig
from memberkit.store import service as store_service
from memberkit.store.models import StoreType
from scratch import postgres_database

SECRET_KEY = "bench-secret-key-not-for-production"
STORE_CODE = "SH001"
SKU, NAME, CATEGORY, QUANTITY, UNIT_PRICE = "A1", "拿铁", "coffee", 2, 3000
AMOUNT = QUANTITY * UNIT_PRICE
#: A ladder no member climbs, so every order earns at one rate and writes the same rows; the
#: service path still judges the tier on each order (one orders aggregate), as it does under
#: the default ladder for members below the top tier.
BENCH_LADDER = {
    "tiers": [
        {"code": "regular", "name": "普通会员"},
        {
            "code": "silver",
            "name": "银卡会员",
            "qualify": {
                "any": [{"growth_at_least": 10**12}, {"day_spend_at_least": "99999999.00"}]
            },
        },
    ]
}
#: Tables an order writes rows into (the two balance UPDATEs write none).
WRITTEN = (
    "idempotency_records",
    "orders",
    "order_lines",
    "order_payments",
    "ledger_transactions",
    "ledger_entries",
    "points_lots",
    "outbox_events",
)
SERVER = """
import uvicorn
from memberkit.app import create_app
uvicorn.run(create_app(scheduler=False), host="127.0.0.1", port={port},
            log_level="warning", access_log=False)
"""


@dataclass(frozen=True)
class Setup:
    """A migrated database with the default program, one store, members and an admin key."""

    kind: str
    url: str
    data_dir: Path
    database: Database
    program: ProgramConfig
    store_id: int
    member_nos: list[str]
    api_key: str
    occurred_at: datetime


@dataclass(frozen=True)
class Result:
    """One path's timed run."""

    kind: str
    path: str
    orders: int
    seconds: float
    rows_per_order: float

    @property
    def rate(self) -> float:
        return self.orders / self.seconds


# ---------------------------------------------------------------------------------------------
# Databases


@contextmanager
def sqlite_target() -> Iterator[tuple[str, str, Path]]:
    with tempfile.TemporaryDirectory(prefix="memberkit-bench-") as tmp:
        yield "sqlite", f"sqlite:///{Path(tmp) / 'memberkit.db'}", Path(tmp) / "data"


@contextmanager
def postgres_target(server_url: str) -> Iterator[tuple[str, str, Path]]:
    with (
        postgres_database(server_url) as url,
        tempfile.TemporaryDirectory(prefix="memberkit-bench-") as tmp,
    ):
        yield "postgresql", url, Path(tmp)


def prepare(kind: str, url: str, data_dir: Path, *, members: int) -> Setup:
    """Configure the process for ``url``, migrate, and create the program, store and members."""
    configure(database_url=url, data_dir=str(data_dir), secret_key=SECRET_KEY, scheduler=False)
    program_service.forget_cache()
    ledger_repository.forget_cached_accounts()
    auth_service.forget_cache()
    database = get_database()
    migrate.upgrade(database.engine)
    with database.session_scope() as session:
        program_service.ensure_default(session)
        program = program_service.configure(
            session, program=program_service.get(session), tier_ladder=BENCH_LADDER
        )
        store, _created = store_service.create(
            session,
            program_id=program.id,
            code=STORE_CODE,
            name="上海南京东路店",
            type=StoreType.direct,
            city="上海",
        )
        member_nos = [
            member_service.register(
                session,
                program_id=program.id,
                phone=f"139{n:08d}",
                name=f"会员{n}",
                store_code=STORE_CODE,
            ).member_no
            for n in range(members)
        ]
        api_key = auth_service.create(session, program_id=program.id, name="bench", scope="admin")
        store_id = store.id
    # An hour ago, whole seconds: well inside the service's future tolerance.
    occurred_at = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    return Setup(kind, url, data_dir, database, program, store_id, member_nos, api_key, occurred_at)


def row_counts(setup: Setup) -> dict[str, int]:
    with setup.database.engine.connect() as connection:
        return {
            table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in WRITTEN
        }


def check_ledger(setup: Setup, *, orders: int) -> None:
    """Fail unless entries balance per asset, every member balance equals its entries, and the
    members hold exactly what the orders earned."""
    points, growth = earning(setup)
    with setup.database.engine.connect() as connection:
        sums = dict(
            connection.execute(
                text("SELECT asset, sum(amount) FROM ledger_entries GROUP BY asset")
            ).all()
        )
        held = dict(
            connection.execute(
                text(
                    "SELECT asset, sum(balance) FROM accounts"
                    " WHERE member_id IS NOT NULL AND asset IN ('points', 'growth')"
                    " GROUP BY asset"
                )
            ).all()
        )
        drifted = connection.execute(
            text(
                "SELECT count(*) FROM accounts a WHERE a.member_id IS NOT NULL AND a.balance <>"
                " (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e"
                " WHERE e.account_id = a.id)"
            )
        ).scalar_one()
        lots = connection.execute(text("SELECT sum(remaining) FROM points_lots")).scalar_one()
    held = {asset: int(total) for asset, total in held.items()}
    expected = {Asset.points: points * orders, Asset.growth: growth * orders}
    if any(int(total) != 0 for total in sums.values()) or drifted:
        raise SystemExit(f"{setup.kind}: ledger sums {sums}, {drifted} balances off their entries")
    if held != expected or int(lots) != expected[Asset.points]:
        raise SystemExit(f"{setup.kind}: balances {held}, lots {lots}, expected {expected}")


def earning(setup: Setup) -> tuple[int, int]:
    """What the benchmark's order earns under the program's rules: (points, growth)."""
    result = rules.earn(
        setup.program.earning,
        lines=[rules.EarnLine(AMOUNT, CATEGORY)],
        earning_paid_minor=AMOUNT,
        store_code=STORE_CODE,
        day=setup.occurred_at.astimezone(settings.tz).date(),
    )
    return result.points, result.growth


# ---------------------------------------------------------------------------------------------
# The three paths. Each takes the external ids to post and returns the seconds they took.


def order_body(setup: Setup, member_no: str, external_id: str) -> dict[str, Any]:
    """The API contract's example order (tests/rest.py ``order_body``)."""
    return {
        "external_id": external_id,
        "member_no": member_no,
        "store_code": STORE_CODE,
        "channel": "store",
        "occurred_at": setup.occurred_at.astimezone(settings.tz).isoformat(),
        "lines": [
            {
                "sku": SKU,
                "name": NAME,
                "category": CATEGORY,
                "quantity": QUANTITY,
                "unit_price": format_money(UNIT_PRICE),
                "amount": format_money(AMOUNT),
            }
        ],
        "payments": [{"method": "wechat", "amount": format_money(AMOUNT)}],
    }


BASELINE_SQL = {
    "member": "SELECT id FROM members WHERE program_id = :program_id AND member_no = :member_no",
    "order": (
        "INSERT INTO orders (program_id, external_id, member_id, store_id, channel, occurred_at,"
        " total_minor, eligible_minor, points_paid, points_earned, growth_earned, refunded_minor,"
        " points_reversed, growth_reversed, points_returned, created_at)"
        " VALUES (:program_id, :external_id, :member_id, :store_id, 'store', :occurred_at,"
        " :total, :total, 0, :points, :growth, 0, 0, 0, 0, :now) RETURNING id"
    ),
    "line": (
        "INSERT INTO order_lines (order_id, line_no, sku, name, category, quantity,"
        " unit_price_minor, amount_minor, earn_weight, growth_weight, refunded_quantity,"
        " refunded_minor) VALUES (:order_id, 1, :sku, :name, :category, :quantity, :unit_price,"
        " :amount, :earn_weight, :growth_weight, 0, 0)"
    ),
    "payment": (
        "INSERT INTO order_payments (order_id, method, amount_minor, points)"
        " VALUES (:order_id, 'wechat', :amount, 0)"
    ),
    "transaction": (
        "INSERT INTO ledger_transactions (program_id, member_id, kind, idempotency_key,"
        " order_id, occurred_at, created_at) VALUES (:program_id, :member_id, 'earn', :key,"
        " :order_id, :occurred_at, :now) RETURNING id"
    ),
    "balance": (
        "UPDATE accounts SET balance = balance + :amount"
        " WHERE member_id = :member_id AND asset = :asset AND code = 'member'"
        " RETURNING id, balance"
    ),
    "lot": (
        "INSERT INTO points_lots (program_id, member_id, transaction_id, amount, remaining,"
        " earned_at, expires_at) VALUES (:program_id, :member_id, :transaction_id, :points,"
        " :points, :occurred_at, :expires_at) RETURNING id"
    ),
    "entries": (
        "INSERT INTO ledger_entries (transaction_id, account_id, asset, amount, balance_after,"
        " lot_id) VALUES"
        " (:transaction_id, :points_account, 'points', :points, :points_balance, :lot_id),"
        " (:transaction_id, :issued_points, 'points', :minus_points, NULL, NULL),"
        " (:transaction_id, :growth_account, 'growth', :growth, :growth_balance, NULL),"
        " (:transaction_id, :issued_growth, 'growth', :minus_growth, NULL, NULL)"
    ),
    "outbox": (
        "INSERT INTO outbox_events (event_id, program_id, type, member_id, occurred_at, payload,"
        " created_at) VALUES (:event_id, :program_id, 'order.posted', :member_id, :occurred_at,"
        " :payload, :now)"
    ),
    "idempotency": (
        "INSERT INTO idempotency_records (program_id, key, request_hash, status_code, response,"
        " created_at) VALUES (:program_id, :key, :request_hash, 201, :response, :now)"
    ),
}


def baseline(setup: Setup, external_ids: list[str]) -> float:
    program = setup.program
    points, growth = earning(setup)
    expires_at = program.validity.expires_at(setup.occurred_at, settings.tz)
    issued_points, issued_growth = (
        issued_account(setup, asset) for asset in (Asset.points, Asset.growth)
    )
    times = (bindparam("occurred_at", type_=UTCDateTime()), bindparam("now", type_=UTCDateTime()))
    lock = " FOR UPDATE" if setup.kind == "postgresql" else ""  # SQLite: BEGIN IMMEDIATE
    sql = {
        "member": text(BASELINE_SQL["member"] + lock),
        "order": text(BASELINE_SQL["order"]).bindparams(*times),
        "line": text(BASELINE_SQL["line"]),
        "payment": text(BASELINE_SQL["payment"]),
        "transaction": text(BASELINE_SQL["transaction"]).bindparams(*times),
        "balance": text(BASELINE_SQL["balance"]),
        "lot": text(BASELINE_SQL["lot"]).bindparams(
            times[0], bindparam("expires_at", type_=UTCDateTime())
        ),
        "entries": text(BASELINE_SQL["entries"]),
        "idempotency": text(BASELINE_SQL["idempotency"]).bindparams(
            times[1], bindparam("response", type_=JSON())
        ),
        "outbox": text(BASELINE_SQL["outbox"]).bindparams(
            *times, bindparam("payload", type_=JSON())
        ),
    }
    weight = rules.MICRO
    members = setup.member_nos
    occurred_local = iso(setup.occurred_at)

    def post(connection: Connection, member_no: str, external_id: str) -> None:
        now = datetime.now(UTC)
        request_hash = idempotency.fingerprint(order_body(setup, member_no, external_id))
        execute = connection.execute
        member_id = execute(
            sql["member"], {"program_id": program.id, "member_no": member_no}
        ).scalar_one()
        order_id = execute(
            sql["order"],
            {
                "program_id": program.id,
                "external_id": external_id,
                "member_id": member_id,
                "store_id": setup.store_id,
                "occurred_at": setup.occurred_at,
                "total": AMOUNT,
                "points": points,
                "growth": growth,
                "now": now,
            },
        ).scalar_one()
        execute(
            sql["line"],
            {
                "order_id": order_id,
                "sku": SKU,
                "name": NAME,
                "category": CATEGORY,
                "quantity": QUANTITY,
                "unit_price": UNIT_PRICE,
                "amount": AMOUNT,
                "earn_weight": points * weight,
                "growth_weight": growth * weight,
            },
        )
        execute(sql["payment"], {"order_id": order_id, "amount": AMOUNT})
        transaction_id = execute(
            sql["transaction"],
            {
                "program_id": program.id,
                "member_id": member_id,
                "key": f"order:{external_id}:earn",
                "order_id": order_id,
                "occurred_at": setup.occurred_at,
                "now": now,
            },
        ).scalar_one()
        points_account, points_balance = execute(
            sql["balance"], {"amount": points, "member_id": member_id, "asset": Asset.points}
        ).one()
        lot_id = execute(
            sql["lot"],
            {
                "program_id": program.id,
                "member_id": member_id,
                "transaction_id": transaction_id,
                "points": points,
                "occurred_at": setup.occurred_at,
                "expires_at": expires_at,
            },
        ).scalar_one()
        growth_account, growth_balance = execute(
            sql["balance"], {"amount": growth, "member_id": member_id, "asset": Asset.growth}
        ).one()
        execute(
            sql["entries"],
            {
                "transaction_id": transaction_id,
                "points_account": points_account,
                "points": points,
                "points_balance": points_balance,
                "lot_id": lot_id,
                "issued_points": issued_points,
                "minus_points": -points,
                "growth_account": growth_account,
                "growth": growth,
                "growth_balance": growth_balance,
                "issued_growth": issued_growth,
                "minus_growth": -growth,
            },
        )
        response = {
            "order_id": str(order_id),
            "external_id": external_id,
            "member_no": member_no,
            "total_amount": format_money(AMOUNT),
            "eligible_amount": format_money(AMOUNT),
            "points_paid": 0,
            "points_earned": points,
            "growth_earned": growth,
            "points_balance": points_balance,
            "growth_balance": growth_balance,
            "occurred_at": occurred_local,
        }
        execute(
            sql["outbox"],
            {
                "event_id": uuid.uuid4().hex,
                "program_id": program.id,
                "member_id": member_id,
                "occurred_at": setup.occurred_at,
                "payload": {**response, "store_code": STORE_CODE, "channel": "store"},
                "now": now,
            },
        )
        execute(
            sql["idempotency"],
            {
                "program_id": program.id,
                "key": f"order:{external_id}",
                "request_hash": request_hash,
                "response": response,
                "now": now,
            },
        )

    with setup.database.engine.connect() as connection:
        start = time.perf_counter()
        for n, external_id in enumerate(external_ids):
            with connection.begin():
                post(connection, members[n % len(members)], external_id)
        return time.perf_counter() - start


def issued_account(setup: Setup, asset: str) -> int:
    with setup.database.session_scope() as session:
        return ledger_repository.system_account_id(
            session, program_id=setup.program.id, asset=asset, code=AccountCode.issued
        )


def service(setup: Setup, external_ids: list[str]) -> float:
    program = setup.program
    members = setup.member_nos
    line = order_service.LineIn(SKU, NAME, CATEGORY, QUANTITY, UNIT_PRICE, AMOUNT)
    payments = [order_service.PaymentIn("wechat", AMOUNT)]
    start = time.perf_counter()
    for n, external_id in enumerate(external_ids):
        member_no = members[n % len(members)]
        key = f"order:{external_id}"
        request_hash = idempotency.fingerprint(order_body(setup, member_no, external_id))
        order = order_service.OrderIn(
            external_id=external_id,
            member=order_service.MemberRef(member_no=member_no),
            store_code=STORE_CODE,
            channel="store",
            occurred_at=setup.occurred_at,
            lines=[line],
            payments=payments,
        )
        with setup.database.session_scope() as session:
            if idempotency.replay(
                session, program_id=program.id, key=key, request_hash=request_hash
            ):
                raise SystemExit(f"{external_id} was posted before")
            result = order_service.post_order(session, program=program, order=order)
            idempotency.remember(
                session,
                program_id=program.id,
                key=key,
                request_hash=request_hash,
                status_code=201,
                response={
                    "order_id": str(result.order_id),
                    "external_id": result.external_id,
                    "member_no": result.member_no,
                    "total_amount": format_money(result.total_minor),
                    "eligible_amount": format_money(result.eligible_minor),
                    "points_paid": result.points_paid,
                    "points_earned": result.points_earned,
                    "growth_earned": result.growth_earned,
                    "points_balance": result.points_balance,
                    "growth_balance": result.growth_balance,
                    "occurred_at": iso(result.occurred_at),
                },
            )
    return time.perf_counter() - start


#: The process id of each running server, by base URL.
SERVER_PIDS: dict[str, int] = {}


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(
    setup: Setup,
    *,
    port: int | None = None,
    command: Callable[[int], list[str]] | None = None,
) -> Iterator[str]:
    """Run the app in a child process on ``port`` (a free one by default); yield its base URL.

    The child is uvicorn serving ``create_app``, or ``command(port)`` with its output dropped.
    """
    port = port or free_port()
    env = {
        **os.environ,
        "MEMBERKIT_DATABASE_URL": setup.url,
        "MEMBERKIT_DATA_DIR": str(setup.data_dir),
        "MEMBERKIT_SECRET_KEY": SECRET_KEY,
        "MEMBERKIT_SCHEDULER": "false",
    }
    if command is None:
        child = subprocess.Popen([sys.executable, "-c", SERVER.format(port=port)], env=env)
    else:
        child = subprocess.Popen(
            command(port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _attempt in range(300):  # up to ~15 s for imports and start-up
            if child.poll() is not None:
                raise SystemExit(f"the server exited with status {child.returncode}")
            try:
                if httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        else:
            raise SystemExit("the server did not start within 15 seconds")
        SERVER_PIDS[base_url] = child.pid
        yield base_url
    finally:
        SERVER_PIDS.pop(base_url, None)
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=10)


def http(setup: Setup, external_ids: list[str], base_url: str) -> float:
    members = setup.member_nos
    headers = {"Authorization": f"Bearer {setup.api_key}"}
    bodies = [
        order_body(setup, members[n % len(members)], external_id)
        for n, external_id in enumerate(external_ids)
    ]
    with httpx.Client(base_url=base_url, headers=headers, timeout=30.0) as client:
        start = time.perf_counter()
        for body in bodies:
            response = client.post("/api/v1/orders", json=body)
            if response.status_code != 201:
                raise SystemExit(f"POST /api/v1/orders: {response.status_code} {response.text}")
        return time.perf_counter() - start


# ---------------------------------------------------------------------------------------------
# Running and reporting


def measure(
    setup: Setup,
    path: str,
    run: Callable[[list[str]], float],
    *,
    orders: int,
    warmup: int,
) -> Result:
    prefix = f"{path.upper()}-"
    run([f"{prefix}W{n:07d}" for n in range(warmup)])
    before = row_counts(setup)
    seconds = run([f"{prefix}{n:07d}" for n in range(orders)])
    after = row_counts(setup)
    rows = sum(after.values()) - sum(before.values())
    per_table = {table: (after[table] - before[table]) / orders for table in WRITTEN}
    if any(count != 1 for table, count in per_table.items() if table != "ledger_entries") or (
        per_table["ledger_entries"] != 4
    ):
        raise SystemExit(f"{setup.kind} {path}: unexpected rows per order {per_table}")
    return Result(setup.kind, path, orders, seconds, rows / orders)


def databases(parser: argparse.ArgumentParser, only: str | None) -> list[Callable[[], Any]]:
    """The databases to run on: SQLite, and PostgreSQL when a server is named (``--only``)."""
    server_url = os.environ.get("MEMBERKIT_BENCH_DATABASE_URL") or os.environ.get(
        "MEMBERKIT_TEST_DATABASE_URL"
    )
    targets: list[Callable[[], Any]] = []
    if only in (None, "sqlite"):
        targets.append(sqlite_target)
    if only in (None, "postgresql"):
        if server_url:
            targets.append(lambda: postgres_target(server_url))
        elif only:
            parser.error("--only postgresql needs MEMBERKIT_BENCH_DATABASE_URL")
    return targets


def bench(kind: str, url: str, data_dir: Path, *, args: argparse.Namespace) -> list[Result]:
    setup = prepare(kind, url, data_dir, members=args.members)
    results = [
        measure(
            setup,
            "baseline",
            lambda ids: baseline(setup, ids),
            orders=args.orders,
            warmup=args.warmup,
        ),
        measure(
            setup,
            "service",
            lambda ids: service(setup, ids),
            orders=args.orders,
            warmup=args.warmup,
        ),
    ]
    with server(setup) as base_url:
        results.append(
            measure(
                setup,
                "http",
                lambda ids: http(setup, ids, base_url),
                orders=args.orders,
                warmup=args.warmup,
            )
        )
    check_ledger(setup, orders=len(results) * (args.orders + args.warmup))
    setup.database.dispose()
    return results


def profile(kind: str, url: str, data_dir: Path, *, args: argparse.Namespace) -> None:
    setup = prepare(kind, url, data_dir, members=args.members)
    service(setup, [f"PROFILE-W{n:07d}" for n in range(args.warmup)])
    profiler = cProfile.Profile()
    profiler.enable()
    seconds = service(setup, [f"PROFILE-{n:07d}" for n in range(args.orders)])
    profiler.disable()
    setup.database.dispose()
    print(
        f"cProfile of the service path on {kind}: {args.orders} orders in {seconds:.2f} s "
        f"({args.orders / seconds:,.0f} orders/s under the profiler)"
    )
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(key).print_stats(args.profile)
        print(f"\n-- sorted by {key} --")
        report = out.getvalue()
        print(report[report.index("   ncalls") :].rstrip())


def print_table(results: list[Result]) -> None:
    header = ("database", "path", "orders", "seconds", "orders/s", "vs baseline", "rows/order")
    rows = []
    for result in results:
        base = next(r for r in results if r.kind == result.kind and r.path == "baseline")
        rows.append(
            (
                result.kind,
                result.path,
                f"{result.orders:,}",
                f"{result.seconds:.2f}",
                f"{result.rate:,.0f}",
                f"{result.rate / base.rate:.2f}×",
                f"{result.rows_per_order:g}",
            )
        )
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    left = {0, 1}
    for row in [header, *rows]:
        cells = [
            cell.ljust(widths[i]) if i in left else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        print("  ".join(cells).rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000, help="timed orders per path")
    parser.add_argument("--warmup", type=int, default=200, help="untimed orders per path first")
    parser.add_argument("--members", type=int, default=200, help="members, used round-robin")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="run one database")
    parser.add_argument(
        "--profile", type=int, metavar="LINES", help="profile the service path instead"
    )
    args = parser.parse_args()
    if args.orders < 1 or args.warmup < 0 or args.members < 1:
        parser.error("--orders and --members must be at least 1, --warmup at least 0")
    targets = databases(parser, args.only)
    if args.profile:
        targets = targets[-1:]  # PostgreSQL when given, else SQLite

    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs; {args.members} members round-robin, {args.warmup} warm-up "
        f"orders per path, one order per transaction, one client"
    )
    results: list[Result] = []
    for target in targets:
        with target() as (kind, url, data_dir):
            if args.profile:
                profile(kind, url, data_dir, args=args)
                return
            results.extend(bench(kind, url, data_dir, args=args))
    print_table(results)


if __name__ == "__main__":
    main()

"""Rows per second of the history import of orders, beside a plain executemany of the same rows.

N orders (default 1,000,000) of 20,000 members at 5 stores over 1990–2025, as a CSV would give
them (text: external id, naive local time, card number or phone or none, store, amount in
yuan, one line in two of them), go into a fresh database:

  import    ``order.importer.import_rows``: parse and check each row, resolve the members
            (one statement per identifier and batch, for those earlier batches did not find),
            check duplicates, order ids reserved, then the driver's bulk path: binary
            ``COPY … FROM STDIN`` on PostgreSQL, one prepared ``executemany`` on SQLite; one
            transaction per 10,000 rows. The rows are generated as they are read, so their
            generation (about 5 µs a row) is in the import's figures.
  baseline  the same orders, already resolved (member ids, minor units, UTC times), inserted
            by the driver's plain ``executemany`` into the same tables in the same batches,
            under other external ids: what the database costs before the importer's checking.
            It stays the ``executemany`` one on PostgreSQL too, where the import uses
            ``COPY``: there the ratio says what COPY and the checks together give.

Each line gives this process's CPU time beside the wall time (the machine is shared), and on a
PostgreSQL server on this machine the CPU its backends spent (read from ``/proc``).

SQLite runs on a temporary file; with ``--database-url`` (a PostgreSQL server) the run is in a
database ``memberkit_bench_<random>`` created for it and dropped after it.

    .venv/bin/python bench/import_orders.py [--orders 1000000] [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from memberkit import migrate
from memberkit.config import configure
from memberkit.db import Database, get_database, table
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.order import importer
from memberkit.order.models import Order
from memberkit.program import service as program_service
from memberkit.store import queries as store_queries
from memberkit.store import service as store_service
from memberkit.store.models import StoreType
from scratch import postgres_database

SECRET_KEY = "bench-secret-key-not-for-production"
MEMBERS = 20_000
STORES = [f"S{n:03d}" for n in range(1, 6)]
# Naive on purpose: the rows give local times, as an old system's export would.
START = datetime(1990, 1, 1)  # noqa: DTZ001
SPAN = int((datetime(2025, 12, 31) - START).total_seconds())  # noqa: DTZ001
TZ = ZoneInfo("Asia/Shanghai")


def rows(n: int, cards: list[str], phones: list[str], seed: int = 7) -> Iterator[dict[str, object]]:
    """N order rows as text, deterministic: a third by card, a third by phone, a third none."""
    rng = random.Random(seed)
    for i in range(n):
        who = i % 3
        k = rng.randrange(len(cards))
        yield {
            "external_id": f"H-{i}",
            "occurred_at": (START + timedelta(seconds=rng.randrange(SPAN))).isoformat(" "),
            "member_no": cards[k] if who == 0 else "",
            "phone": phones[k] if who == 1 else "",
            "store_code": STORES[i % len(STORES)],
            "amount": _yuan(rng),
            "sku": "A1" if i % 2 == 0 else "",
            "category": "coffee" if i % 2 == 0 else "",
            "qty": "1",
        }


def _yuan(rng: random.Random) -> str:
    minor = rng.randrange(100, 100_000)
    return f"{minor // 100}.{minor % 100:02d}"


@contextmanager
def fresh(url: str | None) -> Iterator[Database]:
    """A migrated database with the default program, stores and members."""
    with tempfile.TemporaryDirectory() as directory:
        if url is None:
            target = f"sqlite:///{Path(directory) / 'bench.db'}"
            yield _ready(target, directory)
        else:
            with postgres_database(url) as target:
                yield _ready(target, directory)


def _ready(url: str, directory: str) -> Database:
    configure(
        database_url=url,
        data_dir=directory,
        secret_key=SECRET_KEY,
        scheduler=False,
        outbox_worker=False,
    )
    database = get_database()
    migrate.upgrade(database.engine)
    with database.session_scope() as session:
        program_service.ensure_default(session)
        program = program_service.get(session)
        for code in STORES:
            store_service.create(
                session,
                program_id=program.id,
                code=code,
                name=code,
                type=StoreType.direct,
                city="上海",
            )
        member_service.enrol_history(
            session,
            program_id=program.id,
            people=[
                member_service.HistoryMember(
                    phone=f"139{n:08d}",
                    external_ref=None,
                    store_id=None,
                    channel="store",
                    joined_at=datetime(1990, 1, 1, tzinfo=UTC),
                )
                for n in range(MEMBERS)
            ],
        )
    return database


def members_of(database: Database) -> tuple[list[str], list[str], list[int]]:
    """Card numbers, phones (in the same order) and ids of the bench's members."""
    with database.session_scope(read_only=True) as session:
        found = session.execute(select(Member.id, Member.member_no).order_by(Member.id)).all()
    return (
        [member_no for _id, member_no in found],
        [f"139{n:08d}" for n in range(len(found))],
        [member_id for member_id, _no in found],
    )


def baseline(
    database: Database, n: int, cards: list[str], phones: list[str], ids: list[int]
) -> float:
    """Seconds to insert the same orders and lines, already resolved, by the driver's executemany.

    The rows arrive as the importer's do (text) and are only converted (no checks, no look-ups:
    member ids come from a dict), then one ``cursor.executemany`` per table and batch.
    """
    by_card = dict(zip(cards, ids, strict=True))
    by_phone = dict(zip(phones, ids, strict=True))
    with database.session_scope(read_only=True) as session:
        program = program_service.get(session)
        store_ids = store_queries.ids_by_code(session, program_id=program.id)
    sqlite = database.engine.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    order_columns = (
        "program_id, external_id, member_id, store_id, channel, occurred_at, total_minor, "
        "eligible_minor, points_paid, points_earned, growth_earned, refunded_minor, "
        "points_reversed, growth_reversed, points_returned, source, created_at"
    )
    line_columns = (
        "order_id, line_no, sku, name, category, quantity, unit_price_minor, amount_minor, "
        "earn_weight, growth_weight, refunded_quantity, refunded_minor"
    )
    insert_order = f"INSERT INTO orders ({order_columns}) VALUES ({', '.join([mark] * 17)})"
    insert_line = f"INSERT INTO order_lines ({line_columns}) VALUES ({', '.join([mark] * 12)})"

    def moment(text: str) -> object:
        at = datetime.fromisoformat(text).replace(tzinfo=TZ).astimezone(UTC)
        return at.replace(tzinfo=None).isoformat(" ") if sqlite else at

    started = time.perf_counter()
    source = rows(n, cards, phones)
    done = 0
    while done < n:
        chunk = [next(source) for _ in range(min(importer.BATCH, n - done))]
        now = moment(datetime.now(TZ).replace(tzinfo=None).isoformat(" "))
        order_rows = [
            (
                program.id,
                f"B-{row['external_id']}",
                by_card.get(str(row["member_no"])) or by_phone.get(str(row["phone"])),
                store_ids[str(row["store_code"])],
                "store",
                moment(str(row["occurred_at"])),
                int(str(row["amount"]).replace(".", "")),
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                "history",
                now,
            )
            for row in chunk
        ]
        with database.engine.begin() as connection:
            cursor = connection.connection.cursor()
            cursor.executemany(insert_order, order_rows)
            inserted = dict(
                connection.execute(
                    select(table(Order).c.external_id, table(Order).c.id).where(
                        table(Order).c.external_id.in_([order[1] for order in order_rows])
                    )
                ).all()
            )
            cursor.executemany(
                insert_line,
                [
                    (inserted[order[1]], 1, "A1", "", "coffee", 1, order[6], order[6], 0, 0, 0, 0)
                    for row, order in zip(chunk, order_rows, strict=True)
                    if row["sku"]
                ],
            )
            cursor.close()
        done += len(chunk)
    return time.perf_counter() - started


def server_cpu(database: Database) -> dict[int, float] | None:
    """CPU seconds so far of each PostgreSQL backend of the bench's database, by pid.

    Read from ``/proc`` (a server on this machine, readable by this user), else None.
    """
    if database.engine.dialect.name != "postgresql":
        return None
    with database.session_scope(read_only=True) as session:
        pids = session.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).all()
    tick = os.sysconf("SC_CLK_TCK")
    seconds: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        seconds[pid] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


def server_seconds(before: dict[int, float] | None, after: dict[int, float] | None) -> str:
    """What the backends spent between two :func:`server_cpu` readings, as text for a line."""
    if before is None or after is None:
        return ""
    spent = sum(value - before.get(pid, 0.0) for pid, value in after.items())
    return f"; the server's CPU {spent:.1f} s"


def run(url: str | None, n: int) -> None:
    """Import N orders, then the baseline, on one fresh database; print the figures."""
    name = "postgresql" if url else "sqlite"
    with fresh(url) as database:
        cards, phones, ids = members_of(database)
        server = server_cpu(database)
        started, cpu = time.perf_counter(), time.process_time()
        result = importer.import_rows(database, rows(n, cards, phones))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        server_import = server_seconds(server, server_cpu(database))
        if result.errors or result.orders != n:
            sys.exit(f"import went wrong: {result.orders} orders, errors {result.errors[:3]}")
        again = time.perf_counter()
        repeat = importer.import_rows(database, rows(min(n, 100_000), cards, phones))
        repeat_seconds = time.perf_counter() - again
        if repeat.already_present != min(n, 100_000) or repeat.orders:
            sys.exit("the repeat imported something")
        server = server_cpu(database)
        base_cpu = time.process_time()
        base = baseline(database, n, cards, phones, ids)
        base_cpu = time.process_time() - base_cpu
        server_base = server_seconds(server, server_cpu(database))
        with database.session_scope(read_only=True) as session:
            stored = session.scalar(select(func.count()).select_from(Order))
        if stored != 2 * n:
            sys.exit(f"{stored} orders stored, not {2 * n}")
        database.dispose()
    print(
        f"{name:10s} import   {n:>9,d} orders in {seconds:6.1f} s  {n / seconds:9,.0f} rows/s"
        f"  (non-member {result.non_member_orders:,d}; this process's CPU {cpu:.1f} s"
        f"{server_import})"
    )
    print(
        f"{name:10s} baseline {n:>9,d} orders in {base:6.1f} s  {n / base:9,.0f} rows/s"
        f"  import/baseline {seconds / base:.2f}×  (this process's CPU {base_cpu:.1f} s"
        f"{server_base})"
    )
    print(
        f"{name:10s} repeat   {min(n, 100_000):>9,d} rows already present in {repeat_seconds:.1f} s"
    )


def main() -> None:
    """Parse the flags and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url", help="a PostgreSQL server (default: SQLite in a temp dir)"
    )
    args = parser.parse_args()
    print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    run(args.database_url, args.orders)


if __name__ == "__main__":
    main()

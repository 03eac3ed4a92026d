"""Past orders and refunds from a merchant's old system, in batches of multi-row statements.

The format is flat, one row per order or refund (the columns of :data:`COLUMNS`):

- ``type``: ``order`` (the default when empty) or ``refund``;
- ``external_id``: the old system's id of the order (or refund), unique per program;
- ``order_external_id``: a refund's order (imported before, or earlier in the same file);
- ``occurred_at``: ISO 8601, ``2019-05-01``, ``2019-05-01 14:30`` or with an offset
  (``2019-05-01T14:30:00+08:00``); a value without one is in the program's timezone. From
  1990-01-01 on, never in the future;
- ``member_no``, ``external_ref``, ``phone``: the member by card number, by the old system's
  customer id or by phone, the first given of the three in this order; none: a sale to no
  member. With ``create_members`` a member not found is enrolled when the row has a phone
  (with its ``external_ref``);
- ``store_code``, ``channel`` (``store`` the default, ``online``, ``mini_program``);
- ``amount``: the order's total (or the refund's amount) in yuan as text, ``128.50``;
- ``sku``, ``category``, ``qty``: optional, the order's one line (its amount the order's).

Idempotent by external id: what the program holds already is counted ``already_present`` and
left alone. A row that cannot be imported is reported with its line and the rest go in.
By default history earns nothing (the ``history`` section's ``earn`` is ``none``): no ledger
posting, no member lock, no member event — which is what lets a million rows in within a
minute. When the section asks for earning or tier counting, each batch's orders and refunds
are then replayed through the member pipeline in the batch's transaction
(:mod:`memberkit.order.history`): slower, and only then.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice
from typing import Any, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from memberkit.db import Database, bulk_cache
from memberkit.kit import imports
from memberkit.kit.i18n import Text, _
from memberkit.kit.imports import ImportFileError as ImportFileError
from memberkit.kit.money import (
    MAX_AMOUNT,
    MoneyFormatError,
    display_money,
    format_money,
    parse_money,
)
from memberkit.kit.schemas import CONTROL
from memberkit.kit.time import FUTURE_TOLERANCE, utcnow
from memberkit.member import repository as member_repository
from memberkit.member import service as member_service
from memberkit.member.models import Channel
from memberkit.member.rules import normalize_phone
from memberkit.order import history, repository
from memberkit.order.models import OrderSource
from memberkit.order.settings import HISTORY
from memberkit.program import service as program_service
from memberkit.program.service import ProgramConfig
from memberkit.store import queries as store_queries

#: Rows per transaction: one multi-row statement per table and batch.
BATCH = 10_000
#: Rows per transaction when history earns: each member order then goes through the member
#: lock and the ledger (about 3.5 ms each), and a batch holds its members' locks — on SQLite
#: the database's write lock — until it commits; 500 keep that to a second or two.
EARNING_BATCH = 500
COLUMNS = (
    "type",
    "external_id",
    "order_external_id",
    "occurred_at",
    "member_no",
    "external_ref",
    "phone",
    "store_code",
    "channel",
    "amount",
    "sku",
    "category",
    "qty",
)
REQUIRED = ("external_id", "occurred_at", "amount")
#: The earliest date history may have.
EARLIEST = date(1990, 1, 1)
CHANNELS = tuple(channel.value for channel in Channel)

Row = Mapping[str, object]


class RowError(Exception):
    """One row that cannot be imported, and why."""

    def __init__(self, problem: Text) -> None:
        self.problem = problem
        super().__init__(str(problem))


@dataclass
class ImportResult:
    """Counts of an import, and the rows refused as (line, message in a :class:`Text`)."""

    orders: int = 0
    refunds: int = 0
    already_present: int = 0
    members_created: int = 0
    non_member_orders: int = 0
    #: What history earned and its refunds took back (``history.earn`` other than none).
    points_earned: int = 0
    growth_earned: int = 0
    points_reversed: int = 0
    growth_reversed: int = 0
    errors: list[tuple[int, Text]] = field(default_factory=list)


class _Order(NamedTuple):
    line: int
    external_id: str
    occurred_at: datetime  # naive UTC (the driver's form is made from it)
    member: tuple[str, str] | None  # (column, value): member_no, external_ref or phone_index
    phone: str | None
    external_ref: str | None
    store_id: int | None
    channel: str
    amount_minor: int
    sku: str | None
    category: str
    qty: int


class _Refund(NamedTuple):
    line: int
    external_id: str
    order_external_id: str
    occurred_at: datetime  # aware UTC
    amount_minor: int


def check_header(columns: Iterable[str]) -> None:
    """Refuse a header missing a required column or naming one the importer does not know."""
    imports.check_header(columns, known=COLUMNS, required=REQUIRED)


def _text(row: Row, name: str) -> str:
    value = row.get(name)
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float):
        raise RowError(
            Text(_("{column} is a floating-point number: write it as text"), column=name)
        )
    return str(value).strip()


# An amount in yuan with at most two significant decimals (kit.money's rule), in groups.
_YUAN = re.compile(r"(-?)([0-9]{1,16})(?:\.([0-9]{0,2})0*)?")
_MAX_MINOR = int(MAX_AMOUNT) * 100
_EARLIEST_LOCAL = datetime(EARLIEST.year, EARLIEST.month, EARLIEST.day)  # noqa: DTZ001
_CACHED = 200_000  # entries per cache of an import, beyond which it starts again


class _Reader:
    """Reads rows of one import: its timezone, stores and clock, and what it has looked up.

    The caches (phones and their blind index, amounts as text) outlive a batch: a merchant's
    file names the same customers and prices again and again.
    """

    def __init__(
        self,
        *,
        tz: ZoneInfo,
        now: datetime,
        stores: Mapping[str, int],
        most_minor: int = _MAX_MINOR,
    ) -> None:
        self.tz = tz
        self.stores = stores
        #: The most one order may come to (the earning section's ``max_order_amount``).
        self.most_minor = most_minor
        self.set_now(now)
        self.phones: dict[str, tuple[str, str] | None] = {}
        self.amounts: dict[str, int] = {}

    def set_now(self, now: datetime) -> None:
        """Take the clock of a new batch (nothing may be dated after it, with tolerance)."""
        self.now = now
        self.latest = (now + FUTURE_TOLERANCE).astimezone(UTC).replace(tzinfo=None)

    def moment(self, row: Row) -> datetime:
        """The row's ``occurred_at`` as a naive UTC datetime, checked against 1990 and now."""
        value = row.get("occurred_at")
        if type(value) is str:
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                raw = value.strip()
                raise RowError(
                    Text(_("occurred_at {value} is not a date and time"), value=repr(raw)[:40])
                ) from None
        elif isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day)  # noqa: DTZ001
        else:
            raw = _text(row, "occurred_at")
            try:
                moment = datetime.fromisoformat(raw)
            except ValueError:
                raise RowError(
                    Text(_("occurred_at {value} is not a date and time"), value=repr(raw)[:40])
                ) from None
        if moment.tzinfo is None:
            # Local time: the local date is the one written; UTC is less the zone's offset.
            if moment < _EARLIEST_LOCAL:
                raise RowError(Text(_("occurred_at must be on or after 1990-01-01")))
            offset = self.tz.utcoffset(moment)
            utc = moment - offset if offset else moment
        else:
            try:
                local_day = moment.astimezone(self.tz).date()
                utc = moment.astimezone(UTC).replace(tzinfo=None)
            except OverflowError:  # a day at the calendar's ends, shifted past it
                if moment.year < EARLIEST.year:
                    raise RowError(Text(_("occurred_at must be on or after 1990-01-01"))) from None
                raise RowError(Text(_("occurred_at is in the future"))) from None
            if local_day < EARLIEST:
                raise RowError(Text(_("occurred_at must be on or after 1990-01-01")))
        if utc > self.latest:
            raise RowError(Text(_("occurred_at is in the future")))
        return utc

    def amount(self, row: Row, *, positive: bool) -> int:
        """The row's ``amount`` in minor units (yuan as text, or a Decimal or int)."""
        value = row.get("amount")
        if type(value) is str:
            minor = self.amounts.get(value)
            if minor is None:
                minor = self._yuan(value)
                if len(self.amounts) >= _CACHED:
                    self.amounts.clear()
                self.amounts[value] = minor
        else:
            try:
                minor = parse_money(
                    value if isinstance(value, Decimal | int) else _text(row, "amount")
                )
            except MoneyFormatError:
                raise RowError(_bad_amount(value)) from None
        if minor < 0 or (positive and minor == 0):
            raise RowError(
                Text(_("amount must be more than 0") if positive else _("amount is negative"))
            )
        return minor

    @staticmethod
    def _yuan(value: str) -> int:
        found = _YUAN.fullmatch(value.strip())
        if found is None:
            raise RowError(_bad_amount(value))
        sign, whole, cents = found.groups()
        minor = int(whole) * 100 + (int((cents + "00")[:2]) if cents else 0)
        if minor >= _MAX_MINOR:
            raise RowError(_bad_amount(value))
        return -minor if sign else minor

    def phone(self, raw: str) -> tuple[str, str]:
        """A phone as (normalized, blind index); raises :class:`RowError` for a bad one."""
        try:
            known = self.phones[raw]
        except KeyError:
            phone = normalize_phone(raw)
            known = None if phone is None else (phone, member_service.phone_index(phone))
            if len(self.phones) >= _CACHED:
                self.phones.clear()
            self.phones[raw] = known
        if known is None:
            raise RowError(Text(_("phone {value} is not a mobile number"), value=raw[:20]))
        return known

    def read(self, row: Row, line: int) -> _Order | _Refund:
        """Read one row as an order or a refund; raises :class:`RowError` saying what is wrong."""
        if None in row:
            raise RowError(Text(_("the row has more fields than the header")))
        get = row.get
        value = get("type")
        kind = (value.strip() if type(value) is str else _text(row, "type")).lower() or "order"
        if kind not in ("order", "refund"):
            raise RowError(Text(_("type must be order or refund")))
        external_id = _external_id(row, "external_id")
        if kind == "refund":
            occurred_at = self.moment(row).replace(tzinfo=UTC)
            return _Refund(
                line,
                external_id,
                _external_id(row, "order_external_id"),
                occurred_at,
                self.amount(row, positive=True),
            )
        occurred = self.moment(row)
        amount = self.amount(row, positive=True)
        if amount > self.most_minor:
            raise RowError(
                Text(
                    _("amount is more than one order may come to ({most})"),
                    most=display_money(self.most_minor),
                )
            )
        member: tuple[str, str] | None = None
        phone: str | None = None
        value = get("phone")
        raw_phone = value.strip() if type(value) is str else _text(row, "phone")
        index = ""
        if raw_phone:
            phone, index = self.phone(raw_phone)
        value = get("external_ref")
        external_ref = (value.strip() if type(value) is str else _text(row, "external_ref")) or None
        if external_ref is not None and len(external_ref) > 64:
            raise RowError(Text(_("external_ref is longer than 64 characters")))
        value = get("member_no")
        member_no = value.strip() if type(value) is str else _text(row, "member_no")
        if member_no:
            member = ("member_no", member_no)
        elif external_ref:
            member = ("external_ref", external_ref)
        elif phone:
            member = ("phone_index", index)
        value = get("store_code")
        store_code = value.strip() if type(value) is str else _text(row, "store_code")
        store_id = None
        if store_code:
            store_id = self.stores.get(store_code)
            if store_id is None:
                raise RowError(Text(_("store {code} does not exist"), code=store_code[:40]))
        value = get("channel")
        channel = (value.strip() if type(value) is str else _text(row, "channel")) or "store"
        if channel not in CHANNELS:
            raise RowError(Text(_("channel must be one of {choices}"), choices=", ".join(CHANNELS)))
        value = get("sku")
        sku = (value.strip() if type(value) is str else _text(row, "sku")) or None
        value = get("category")
        category = value.strip() if type(value) is str else _text(row, "category")
        value = get("qty")
        qty_text = (value.strip() if type(value) is str else _text(row, "qty")) or "1"
        if qty_text == "1":
            qty = 1
        elif not (qty_text.isascii() and qty_text.isdigit()) or not (
            1 <= (qty := int(qty_text)) <= 1_000_000
        ):
            raise RowError(Text(_("qty must be a whole number from 1 to 1000000")))
        if (sku is not None and len(sku) > 64) or len(category) > 64:
            raise RowError(Text(_("sku and category are at most 64 characters")))
        for column, text in (("sku", sku), ("category", category), ("external_ref", external_ref)):
            if text and CONTROL.search(text):
                raise RowError(_controls(column))
        return _Order(
            line,
            external_id,
            occurred,
            member,
            phone,
            external_ref,
            store_id,
            channel,
            amount,
            sku,
            category,
            qty,
        )


def _bad_amount(value: object) -> Text:
    return Text(_("amount {value} is not an amount in yuan such as 128.50"), value=repr(value)[:40])


def _controls(column: str) -> Text:
    return Text(
        _("{column} holds control characters (line breaks, tabs or text-direction overrides)"),
        column=column,
    )


def _external_id(row: Row, name: str) -> str:
    value = row.get(name)
    value = value.strip() if type(value) is str else _text(row, name)
    if not value:
        raise RowError(Text(_("{column} is empty"), column=name))
    if len(value) > 100:
        raise RowError(Text(_("{column} is longer than 100 characters"), column=name))
    if CONTROL.search(value):
        raise RowError(_controls(name))
    return value


def parse_row(
    row: Row, *, line: int, tz: ZoneInfo, now: datetime, stores: Mapping[str, int]
) -> _Order | _Refund:
    """Read one row as an order or a refund; raises :class:`RowError` saying what is wrong.

    An order's ``occurred_at`` is naive UTC, a refund's aware UTC.
    """
    return _Reader(tz=tz, now=now, stores=stores).read(row, line)


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


class _Config(NamedTuple):
    """What reading a row depends on in the database: a batch is read again if it changed."""

    tz: ZoneInfo
    stores: Mapping[str, int]
    most_minor: int
    bound_store: str | None


def _config(session: Session, bound_store: str | None) -> tuple[ProgramConfig, _Config]:
    program = program_service.get(session)
    stores = store_queries.ids_by_code(session, program_id=program.id)
    return program, _Config(program.tz, stores, program.earning.max_order_minor, bound_store)


class _ReadBatch(NamedTuple):
    """One batch as read (no database): its rows kept, should it have to be read again."""

    rows: list[Row]
    first_line: int
    now: datetime
    config: _Config
    orders: list[_Order]
    refunds: list[_Refund]
    errors: list[tuple[int, Text]]


class _End(NamedTuple):
    """The reader's last word: the rows are over (``error`` None) or reading them failed."""

    error: BaseException | None


def _read_batch(reader: _Reader, config: _Config, rows: list[Row], first_line: int) -> _ReadBatch:
    """Read and check one batch's rows with ``config``, at the clock of now (no database)."""
    now = utcnow()
    reader.tz = config.tz
    reader.stores = config.stores
    reader.most_minor = config.most_minor
    reader.set_now(now)
    bound_store = config.bound_store
    bound_id = config.stores.get(bound_store) if bound_store is not None else None
    orders: list[_Order] = []
    refunds: list[_Refund] = []
    errors: list[tuple[int, Text]] = []
    read = reader.read
    line = first_line - 1
    for row in rows:
        line += 1
        try:
            parsed = read(row, line)
            if bound_store is not None and type(parsed) is _Order:
                if parsed.store_id is None and not _text(row, "store_code"):
                    parsed = parsed._replace(store_id=bound_id)
                elif parsed.store_id != bound_id:
                    raise RowError(
                        Text(_("this key may import only store {store}'s rows"), store=bound_store)
                    )
        except RowError as exc:
            errors.append((line, exc.problem))
            continue
        if isinstance(parsed, _Order):
            orders.append(parsed)
        else:
            refunds.append(parsed)
    return _ReadBatch(rows, first_line, now, config, orders, refunds, errors)


class _Pipeline:
    """Reads and checks the next batch in a thread while the caller writes the one before.

    Only what needs no database runs there (the rows' source, the checks, the conversion); a
    queue of one batch bounds what is read ahead. An error of the source reaches the caller
    after the batches read before it; :meth:`close` stops the thread (an error or interrupt of
    the caller, or the end).
    """

    def __init__(self, rows: Iterable[Row], *, size: int, first_line: int, config: _Config) -> None:
        self.config = config  # the latest the writer saw; the thread reads with it
        self._reader = _Reader(tz=config.tz, now=utcnow(), stores=config.stores)
        self._rows = rows
        self._size = size
        self._first_line = first_line
        self._queue: queue.Queue[_ReadBatch | _End] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="import-reader", daemon=True)
        self._thread.start()

    def _put(self, item: _ReadBatch | _End) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def _run(self) -> None:
        line = self._first_line
        try:
            for chunk in _batches(self._rows, self._size):
                if not self._put(_read_batch(self._reader, self.config, chunk, line)):
                    return
                line += len(chunk)
        except BaseException as exc:  # handed to the writer, raised there
            self._put(_End(exc))
        else:
            self._put(_End(None))

    def __iter__(self) -> Iterator[_ReadBatch]:
        while True:
            item = self._queue.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item

    def close(self) -> None:
        """Stop the thread and wait for it (at most the batch it is reading)."""
        self._stop.set()
        self._thread.join()


@dataclass
class _Import:
    """What one import keeps from batch to batch."""

    #: Members found or enrolled, by (column, value): a batch looks up only the others.
    members: dict[tuple[str, str], int] = field(default_factory=dict)


def import_rows(
    database: Database,
    rows: Iterable[Row],
    *,
    create_members: bool = False,
    bound_store: str | None = None,
    first_line: int = 2,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import rows of past orders and refunds, one transaction per batch of ``batch`` rows.

    (At most :data:`EARNING_BATCH` when the ``history`` section has history earn.)

    ``first_line`` numbers the first row (2: a CSV's header is line 1). ``bound_store`` is a
    store-bound caller's store: rows of another store are refused, rows naming none are its.
    ``progress`` is told how many rows are done after each batch.

    The next batch is read and checked in a thread while this one is written (nothing of that
    reads the database); one whose program settings or stores changed meanwhile is read again
    in its transaction. Each batch still commits before the next one looks anything up.
    """
    result = ImportResult()
    state = _Import()
    done = 0
    with database.session_scope(read_only=True) as session:
        program, config = _config(session, bound_store)
        if program.section(HISTORY).replays:
            batch = min(batch, EARNING_BATCH)
    pipeline = _Pipeline(rows, size=batch, first_line=first_line, config=config)
    try:
        for read in pipeline:
            with database.session_scope() as session, bulk_cache(session):
                program, config = _config(session, bound_store)
                if config != read.config:
                    pipeline.config = config
                    reader = _Reader(tz=config.tz, now=read.now, stores=config.stores)
                    read = _read_batch(reader, config, read.rows, read.first_line)
                written = _import_batch(
                    session,
                    program_id=program.id,
                    read=read,
                    members=state.members,
                    create_members=create_members,
                    result=result,
                )
                _earn(session, program, written, result)
            done += len(read.rows)
            if progress is not None:
                progress(done)
    finally:
        pipeline.close()
    result.errors.sort(key=lambda error: error[0])
    return result


def _import_batch(
    session: Session,
    *,
    program_id: int,
    read: _ReadBatch,
    members: dict[tuple[str, str], int],
    create_members: bool,
    result: ImportResult,
) -> tuple[list[str], list[str]]:
    """Import one batch as read; returns the external ids of the orders and refunds it took in."""
    now = read.now
    bound_store = read.config.bound_store
    bound_id = read.config.stores.get(bound_store) if bound_store is not None else None
    result.errors.extend(read.errors)
    orders = _new_only(session, program_id, read.orders, refunds=False, result=result)
    refunds_new = _new_only(session, program_id, read.refunds, refunds=True, result=result)
    _insert_orders(
        session,
        program_id=program_id,
        orders=orders,
        members=members,
        create_members=create_members,
        now=now,
        result=result,
    )
    _insert_refunds(
        session,
        program_id=program_id,
        refunds=refunds_new,
        bound_id=bound_id,
        now=now,
        bound=bound_store is not None,
        result=result,
    )
    return [o.external_id for o in orders], [r.external_id for r in refunds_new]


def _earn(
    session: Session,
    program: ProgramConfig,
    written: tuple[list[str], list[str]],
    result: ImportResult,
) -> None:
    """Replay what the batch wrote: its orders when history earns (or counts for tiers).

    Its refunds always, so that a refund of an order that earned takes back its share.
    """
    if not program.section(HISTORY).replays and not written[1]:
        return
    replayed = history.replay(session, program=program, orders=written[0], refunds=written[1])
    result.points_earned += replayed.points_earned
    result.growth_earned += replayed.growth_earned
    result.points_reversed += replayed.points_reversed
    result.growth_reversed += replayed.growth_reversed


_Parsed = TypeVar("_Parsed", _Order, _Refund)


def _new_only(
    session: Session, program_id: int, parsed: list[_Parsed], *, refunds: bool, result: ImportResult
) -> list[_Parsed]:
    """The rows whose external id the program does not hold yet (nor an earlier row).

    A row whose id is held with the same amount is ``already_present`` (a replay); with
    another amount it is a row error, so that a corrected re-export is not silently dropped.
    """
    held = repository.existing_amounts(
        session,
        program_id=program_id,
        refunds=refunds,
        external_ids=[item.external_id for item in parsed],
    )
    fresh: list[_Parsed] = []
    for item in parsed:
        before = held.get(item.external_id)
        if before is None:
            held[item.external_id] = item.amount_minor
            fresh.append(item)
        elif before == item.amount_minor:
            result.already_present += 1
        else:
            result.errors.append(
                (
                    item.line,
                    Text(
                        _("{external_id} was imported before with amount {amount}: left as it was"),
                        external_id=item.external_id[:100],
                        amount=display_money(before),
                    ),
                )
            )
    return fresh


def _insert_orders(
    session: Session,
    *,
    program_id: int,
    orders: list[_Order],
    members: dict[tuple[str, str], int],
    create_members: bool,
    now: datetime,
    result: ImportResult,
) -> None:
    """Resolve the orders' members (three statements at most), enrol the missing, write them.

    ``members`` holds the members found by earlier batches of the import, and gains this
    batch's.
    """
    found = members
    for column in ("member_no", "external_ref", "phone_index"):
        values = {
            o.member[1]
            for o in orders
            if o.member is not None and o.member[0] == column and o.member not in found
        }
        ids = member_repository.ids_by(
            session, program_id=program_id, column=column, values=sorted(values)
        )
        found.update({(column, value): held for value, held in ids.items()})
    missing = [o for o in orders if o.member is not None and o.member not in found]
    if missing:
        _match_by_phone(session, program_id=program_id, orders=missing, found=found)
        missing = [o for o in missing if o.member not in found]
    if missing and create_members:
        _enrol(session, program_id=program_id, orders=missing, found=found, result=result)
    sqlite = session.connection().dialect.name == "sqlite"
    created_at: object = now.astimezone(UTC)
    if sqlite:
        created_at = now.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    # What every history order has alike: nothing eligible, earned, paid in points or refunded.
    tail = (0, 0, 0, 0, 0, 0, 0, 0, OrderSource.history.value, created_at)
    kept: list[_Order] = []
    members_of: list[int | None] = []
    errors = result.errors
    get = found.get
    for order in orders:
        member = order.member
        if member is None:
            members_of.append(None)
            result.non_member_orders += 1
        else:
            member_id = get(member)
            if member_id is None:
                errors.append((order.line, _not_found(order, create_members)))
                continue
            members_of.append(member_id)
        kept.append(order)
    order_ids = repository.reserve_order_ids(session, count=len(kept))
    # SQLite takes the text SQLAlchemy stores a UTC time as, psycopg an aware datetime.
    if sqlite:
        stamps: list[object] = [o.occurred_at.isoformat(" ", "microseconds") for o in kept]
    else:
        stamps = [o.occurred_at.replace(tzinfo=UTC) for o in kept]
    rows = [
        (
            order_id,
            program_id,
            order.external_id,
            member_id,
            order.store_id,
            order.channel,
            stamp,
            order.amount_minor,
            *tail,
        )
        for order_id, order, member_id, stamp in zip(
            order_ids, kept, members_of, stamps, strict=True
        )
    ]
    repository.insert_orders(session, rows=rows)
    result.orders += len(rows)
    repository.insert_lines(
        session,
        rows=[
            (
                order_id,
                1,
                order.sku or "",
                "",
                order.category,
                order.qty,
                order.amount_minor // order.qty,
                order.amount_minor,
                0,
                0,
                0,
                0,
            )
            for order_id, order in zip(order_ids, kept, strict=True)
            # a category without a sku is a line too: earning and reports read its category
            if order.sku is not None or order.category
        ],
    )


def _match_by_phone(
    session: Session, *, program_id: int, orders: list[_Order], found: dict[tuple[str, str], int]
) -> None:
    """A customer id no member has, on a row whose phone is a member's: that member's order.

    (Enrolling them would give the phone a second member.) One statement for the batch.
    """
    indexes = {
        o: member_service.phone_index(o.phone)
        for o in orders
        if o.member is not None and o.member[0] == "external_ref" and o.phone is not None
    }
    wanted = sorted({i for i in indexes.values() if ("phone_index", i) not in found})
    ids = member_repository.ids_by(
        session, program_id=program_id, column="phone_index", values=wanted
    )
    found.update({("phone_index", index): held for index, held in ids.items()})
    for order, index in indexes.items():
        held = found.get(("phone_index", index))
        if held is not None and order.member is not None:
            found[order.member] = held


def _not_found(order: _Order, create_members: bool) -> Text:
    assert order.member is not None
    column, value = order.member
    if column == "member_no":
        return Text(_("no member has card number {value}"), value=value[:20])
    if column == "external_ref":
        if create_members and order.phone is None:
            return Text(
                _("no member has customer id {value}, and without a phone none is created"),
                value=value,
            )
        return Text(_("no member has customer id {value}"), value=value)
    return Text(_("no member has this phone number"))


def _enrol(
    session: Session,
    *,
    program_id: int,
    orders: list[_Order],
    found: dict[tuple[str, str], int],
    result: ImportResult,
) -> None:
    """Enrol the customers of ``orders`` not found who have a phone: one per phone."""
    people: dict[str, member_service.HistoryMember] = {}
    for order in orders:
        if order.phone is None or order.member is None or order.member[0] == "member_no":
            continue  # a card number is Memberkit's own: one not found is a mistake
        index = member_service.phone_index(order.phone)
        if (order.member[0] == "external_ref") and ("phone_index", index) in found:
            continue  # the phone belongs to a member already, under another customer id
        people.setdefault(
            index,
            member_service.HistoryMember(
                phone=order.phone,
                external_ref=order.external_ref,
                store_id=order.store_id,
                channel=order.channel,
                joined_at=order.occurred_at.replace(tzinfo=UTC),
            ),
        )
    refs = [person.external_ref for person in people.values() if person.external_ref]
    taken = member_repository.ids_by(
        session, program_id=program_id, column="external_ref", values=refs
    )
    seen_refs: set[str] = set()
    wanted: list[member_service.HistoryMember] = []
    for person in people.values():
        if person.external_ref in taken or person.external_ref in seen_refs:
            continue  # one customer id, two phones: the first phone's member keeps it
        if person.external_ref:
            seen_refs.add(person.external_ref)
        wanted.append(person)
    created = member_service.enrol_history(session, program_id=program_id, people=wanted)
    result.members_created += len(created)
    by_ref = {
        p.external_ref: created[member_service.phone_index(p.phone)]
        for p in wanted
        if p.external_ref
    }
    for index, member_id in created.items():
        found[("phone_index", index)] = member_id
    for ref, member_id in by_ref.items():
        found[("external_ref", ref)] = member_id


def _insert_refunds(
    session: Session,
    *,
    program_id: int,
    refunds: list[_Refund],
    bound_id: int | None,
    bound: bool,
    now: datetime,
    result: ImportResult,
) -> None:
    """Check each refund against its order and what earlier refunds took; write them."""
    orders = repository.refundable(
        session, program_id=program_id, external_ids=[r.order_external_id for r in refunds]
    )
    refunded: dict[int, int] = {}
    rows: list[dict[str, Any]] = []
    for refund in refunds:
        order = orders.get(refund.order_external_id)
        if order is None:
            result.errors.append(
                (
                    refund.line,
                    Text(_("order {order} is not imported"), order=refund.order_external_id[:100]),
                )
            )
            continue
        if bound and order.store_id != bound_id:
            result.errors.append(
                (refund.line, Text(_("this key may import only its own store's rows")))
            )
            continue
        if order.source != OrderSource.history.value:
            result.errors.append(
                (
                    refund.line,
                    Text(
                        _("order {order} was posted live: refund it through POST /api/v1/refunds"),
                        order=refund.order_external_id[:100],
                    ),
                )
            )
            continue
        left = order.total_minor - order.refunded_minor - refunded.get(order.id, 0)
        if refund.amount_minor > left:
            result.errors.append(
                (
                    refund.line,
                    Text(
                        _("the refund is more than is left of order {order} ({left})"),
                        order=refund.order_external_id[:100],
                        left=format_money(left),
                    ),
                )
            )
            continue
        if refund.occurred_at < order.occurred_at:
            result.errors.append((refund.line, Text(_("the refund is dated before its order"))))
            continue
        refunded[order.id] = refunded.get(order.id, 0) + refund.amount_minor
        rows.append(
            {
                "program_id": program_id,
                "external_id": refund.external_id,
                "order_id": order.id,
                "amount_minor": refund.amount_minor,
                "points_reversed": 0,
                "growth_reversed": 0,
                "points_returned": 0,
                "occurred_at": refund.occurred_at,
                "source": OrderSource.history.value,
                "created_at": now,
            }
        )
    repository.insert_refunds(session, rows=rows, refunded=refunded)
    result.refunds += len(rows)

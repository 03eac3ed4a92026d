"""SQL of the ledger: accounts, transactions, entries and lots."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    TextClause,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import Session

from memberkit.db import table
from memberkit.kit.time import FUTURE_TOLERANCE, as_utc
from memberkit.ledger.models import (
    Account,
    AccountCode,
    Asset,
    LedgerEntry,
    LedgerTransaction,
    PointsLot,
    TransactionKind,
)
from memberkit.ledger.posting import OpenLot

_Ts = TypeVarTuple("_Ts")

_system_accounts: dict[tuple[int, str, str], int] = {}


def create_member_accounts(session: Session, *, program_id: int, member_id: int) -> None:
    """Open the points and growth accounts of a new member."""
    session.execute(
        insert(Account),
        [
            {
                "program_id": program_id,
                "member_id": member_id,
                "asset": asset,
                "code": AccountCode.member,
                "balance": 0,
            }
            for asset in Asset
        ],
    )


def create_accounts_of(session: Session, *, program_id: int, member_ids: Iterable[int]) -> None:
    """Open the accounts of many new members in one multi-row statement (history import)."""
    rows = [
        {
            "program_id": program_id,
            "member_id": member_id,
            "asset": asset,
            "code": AccountCode.member,
            "balance": 0,
        }
        for member_id in member_ids
        for asset in Asset
    ]
    if rows:
        session.connection().execute(insert(Account), rows)


def ensure_system_accounts(session: Session, *, program_id: int) -> None:
    """Create the program's system accounts that do not exist yet."""
    existing = {
        (row.asset, row.code)
        for row in session.execute(
            select(Account.asset, Account.code).where(
                Account.program_id == program_id, Account.member_id.is_(None)
            )
        )
    }
    rows = [
        {"program_id": program_id, "member_id": None, "asset": asset, "code": code, "balance": 0}
        for asset in Asset
        for code in AccountCode
        if code != AccountCode.member and (asset, code) not in existing
    ]
    if rows:
        session.execute(insert(Account), rows)


def system_account_id(session: Session, *, program_id: int, asset: str, code: str) -> int:
    """Return a system account's id; cached, since system accounts never change."""
    cache_key = (program_id, asset, code)
    account_id = _system_accounts.get(cache_key)
    if account_id is None:
        account_id = session.scalar(
            select(Account.id).where(
                Account.program_id == program_id,
                Account.member_id.is_(None),
                Account.asset == asset,
                Account.code == code,
            )
        )
        if account_id is None:
            raise LookupError(f"system account {asset}/{code} missing for program {program_id}")
        _system_accounts[cache_key] = account_id
    return account_id


def system_total(session: Session, *, program_id: int, asset: str, code: str) -> int:
    """Return what a system account has received: the sum of its entries (it caches none)."""
    account_id = system_account_id(session, program_id=program_id, asset=asset, code=code)
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.account_id == account_id
        )
    )
    return int(total or 0)


def forget_cached_accounts() -> None:
    """Drop cached system account ids (tests create and drop databases)."""
    _system_accounts.clear()


_accounts = table(Account)
# Built once with bound parameters: the hot path only binds values, it builds no SQL.
_CHANGE_BALANCE = (
    update(_accounts)
    .where(
        _accounts.c.member_id == bindparam("owner"),
        _accounts.c.asset == bindparam("of_asset"),
        _accounts.c.code == AccountCode.member.value,
    )
    .values(balance=_accounts.c.balance + bindparam("amount"))
    .returning(_accounts.c.id, _accounts.c.balance)
)
_CHANGE_BALANCE_ABOVE = _CHANGE_BALANCE.where(
    _accounts.c.balance + bindparam("amount") >= bindparam("floor")
)


def change_balance(
    session: Session, *, member_id: int, asset: str, amount: int, floor: int | None = None
) -> tuple[int, int] | None:
    """Add ``amount`` to a member account in one statement; returns (account id, new balance).

    With ``floor`` the change happens only if the new balance stays at or above it, and None is
    returned when it would not: the spend decision is the statement's row count, never a read.
    """
    params = {"owner": member_id, "of_asset": str(asset), "amount": amount}
    if floor is None:
        statement = _CHANGE_BALANCE
    else:
        statement, params["floor"] = _CHANGE_BALANCE_ABOVE, floor
    row = session.connection().execute(statement, params).one_or_none()
    return (row[0], row[1]) if row is not None else None


def member_balances(session: Session, *, member_id: int) -> dict[str, int]:
    """Return the member's cached balance per asset."""
    rows = session.execute(
        select(Account.asset, Account.balance).where(
            Account.member_id == member_id, Account.code == AccountCode.member
        )
    )
    return {asset: balance for asset, balance in rows}


_INSERT_TRANSACTION = insert(table(LedgerTransaction)).returning(table(LedgerTransaction).c.id)
_INSERT_LOT = insert(table(PointsLot)).returning(table(PointsLot).c.id)


def insert_transaction(session: Session, **values: Any) -> int:
    """Insert a ledger transaction; returns its id."""
    return int(session.connection().execute(_INSERT_TRANSACTION, values).scalar_one())


def insert_entries(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert entries as one multi-row ``INSERT … VALUES (…), (…)``: one statement, one trip.

    Not an executemany, which drivers send as one statement per row; not the ORM's bulk
    insert, which drops None values and splits rows by shape.
    """
    if rows:
        params = {
            f"{name}_{n}": str(value) if name == "asset" else value
            for n, row in enumerate(rows)
            for name, value in row.items()
        }
        session.connection().execute(_insert_entries(len(rows)), params)


_ENTRY_COLUMNS = ("transaction_id", "account_id", "asset", "amount", "lot_id", "balance_after")


@functools.cache
def _insert_entries(count: int) -> TextClause:
    """The INSERT of ``count`` entries, a bound parameter per value: built once per count.

    Text, because SQLAlchemy does not cache a multi-row ``insert().values([...])``: it would be
    compiled again for every transaction.
    """
    rows = ", ".join(
        "(" + ", ".join(f":{name}_{n}" for name in _ENTRY_COLUMNS) + ")" for n in range(count)
    )
    columns = ", ".join(_ENTRY_COLUMNS)
    # Names and placeholders only, all constants of this module: no value is in the text.
    return text(f"INSERT INTO {table(LedgerEntry).name} ({columns}) VALUES {rows}")  # noqa: S608


def insert_lot(session: Session, **values: Any) -> int:
    """Insert a points lot; returns its id."""
    return int(session.connection().execute(_INSERT_LOT, values).scalar_one())


def open_lots(session: Session, *, member_id: int) -> list[OpenLot]:
    """Return the member's lots that still hold points."""
    rows = session.execute(
        select(PointsLot.id, PointsLot.remaining, PointsLot.expires_at).where(
            PointsLot.member_id == member_id, PointsLot.remaining > 0
        )
    )
    return [OpenLot(row.id, row.remaining, row.expires_at) for row in rows]


def take_from_lots(session: Session, takes: list[tuple[int, int]]) -> None:
    """Reduce lots' remaining points; each take must fit (checked by the statement)."""
    for lot_id, points in takes:
        lots = table(PointsLot)
        result = session.execute(
            update(lots)
            .where(lots.c.id == lot_id, lots.c.remaining >= points)
            .values(remaining=lots.c.remaining - points)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise RuntimeError(f"lot {lot_id} changed under a held member lock")


_lots = table(PointsLot)
_DUE_LOTS = (
    select(_lots.c.id, _lots.c.remaining, _lots.c.expires_at)
    .where(
        _lots.c.member_id == bindparam("member_id"),
        _lots.c.expires_at <= bindparam("as_of"),
        _lots.c.remaining > 0,
    )
    .order_by(_lots.c.expires_at, _lots.c.id)
)


def due_lots(
    session: Session, *, as_of: datetime, member_id: int
) -> list[tuple[int, int, datetime]]:
    """Return (lot id, remaining, expiry) of the member's lots past their expiry at ``as_of``."""
    rows = session.connection().execute(_DUE_LOTS, {"member_id": member_id, "as_of": as_of})
    return [(row[0], row[1], as_utc(row[2])) for row in rows]


@dataclass(frozen=True)
class LotLine:
    """A lot and its continuations (lots its returned points went to): what is left, expired."""

    lot_ids: frozenset[int]
    remaining: int
    expired: int


def earned_line(session: Session, *, program_id: int, key: str) -> LotLine:
    """Return the line of the lot that the transaction posted under ``key`` created (or none)."""
    lot_id = session.scalar(
        select(PointsLot.id)
        .join(LedgerTransaction, LedgerTransaction.id == PointsLot.transaction_id)
        .where(
            LedgerTransaction.program_id == program_id,
            LedgerTransaction.idempotency_key == key,
        )
    )
    if lot_id is None:
        return LotLine(frozenset(), 0, 0)
    return lot_line(session, lot_id=lot_id)


def lot_line(session: Session, *, lot_id: int) -> LotLine:
    """Return the lot ``lot_id`` with its continuations, their points left and expired."""
    rows = session.execute(
        select(PointsLot.id, PointsLot.remaining).where(
            or_(PointsLot.id == lot_id, PointsLot.source_lot_id == lot_id)
        )
    ).all()
    ids = frozenset(row[0] for row in rows)
    expired = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(
            LedgerEntry.lot_id.in_(ids),
            LedgerTransaction.kind == TransactionKind.expire,
            LedgerEntry.amount < 0,
        )
    )
    return LotLine(ids, sum(int(row[1]) for row in rows), -int(expired or 0))


def live_points(session: Session, *, member_id: int, as_of: datetime) -> int:
    """Return the member's points balance without lots already past expiry at ``as_of``.

    The cached balance still holds lots the expiry job has not reached; a read must not show
    them as spendable.
    """
    balance = member_balances(session, member_id=member_id).get(Asset.points, 0)
    return balance - due_points(session, member_id=member_id, as_of=as_of)


def due_points(session: Session, *, member_id: int, as_of: datetime) -> int:
    """Return the points still held in the member's lots past expiry at ``as_of``."""
    due = session.scalar(
        select(func.coalesce(func.sum(PointsLot.remaining), 0)).where(
            PointsLot.member_id == member_id,
            PointsLot.expires_at <= as_of,
            PointsLot.remaining > 0,
        )
    )
    return int(due or 0)


@dataclass(frozen=True)
class SpentFrom:
    """Points a payment took from one lot, and that lot's dates."""

    lot_id: int
    points: int
    earned_at: datetime
    expires_at: datetime | None
    line_id: int  # the first lot of its line: returned points continue it


def spent_from(session: Session, *, transaction_id: int) -> list[SpentFrom]:
    """Return the lots a spend transaction took points from, in the order it took them."""
    rows = session.execute(
        select(
            PointsLot.id,
            LedgerEntry.amount,
            PointsLot.earned_at,
            PointsLot.expires_at,
            func.coalesce(PointsLot.source_lot_id, PointsLot.id),
        )
        .join(PointsLot, PointsLot.id == LedgerEntry.lot_id)
        .where(LedgerEntry.transaction_id == transaction_id, LedgerEntry.amount < 0)
        .order_by(LedgerEntry.id)
    )
    return [
        SpentFrom(
            lot_id,
            -amount,
            as_utc(earned_at),
            as_utc(expires_at) if expires_at is not None else None,
            line_id,
        )
        for lot_id, amount, earned_at, expires_at, line_id in rows
    ]


def transaction_id_by_key(session: Session, *, program_id: int, key: str) -> int | None:
    """Return the id of the transaction posted under an idempotency key, if any."""
    return session.scalar(
        select(LedgerTransaction.id).where(
            LedgerTransaction.program_id == program_id, LedgerTransaction.idempotency_key == key
        )
    )


@dataclass(frozen=True)
class StatementRow:
    """One line of a member's statement."""

    entry_id: int
    transaction_id: int
    kind: str
    amount: int
    balance_after: int
    reason: str | None
    actor: str | None
    order_id: int | None
    refund_id: int | None
    occurred_at: datetime
    lot_expires_at: datetime | None


def statement(
    session: Session,
    *,
    member_id: int,
    asset: str,
    kinds: list[str] | None,
    since: datetime | None,
    until: datetime | None,
    offset: int,
    limit: int,
) -> tuple[int, list[StatementRow]]:
    """Return (total transactions, one page) of a member's history, newest first.

    A transaction touching several lots has several entries; the statement shows one row per
    transaction with the summed amount and the balance after the transaction.
    """
    conditions = [
        Account.member_id == member_id,
        Account.asset == asset,
        Account.code == AccountCode.member,
    ]
    if kinds:
        conditions.append(LedgerTransaction.kind.in_(kinds))
    if since is not None:
        conditions.append(LedgerTransaction.occurred_at >= since)
    if until is not None:
        conditions.append(LedgerTransaction.occurred_at < until)
    grouped = (
        select(
            LedgerTransaction.id.label("transaction_id"),
            func.max(LedgerEntry.id).label("entry_id"),
            func.sum(LedgerEntry.amount).label("amount"),
            func.min(PointsLot.expires_at).label("lot_expires_at"),
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(Account, Account.id == LedgerEntry.account_id)
        .outerjoin(PointsLot, and_(PointsLot.id == LedgerEntry.lot_id, LedgerEntry.amount > 0))
        .where(*conditions)
        .group_by(LedgerTransaction.id)
        .subquery()
    )
    total = session.scalar(select(func.count()).select_from(grouped)) or 0
    rows = session.execute(
        select(
            grouped.c.entry_id,
            grouped.c.transaction_id,
            LedgerTransaction.kind,
            grouped.c.amount,
            LedgerEntry.balance_after,
            LedgerTransaction.reason,
            LedgerTransaction.actor,
            LedgerTransaction.order_id,
            LedgerTransaction.refund_id,
            LedgerTransaction.occurred_at,
            grouped.c.lot_expires_at,
        )
        .join(LedgerTransaction, LedgerTransaction.id == grouped.c.transaction_id)
        .join(LedgerEntry, LedgerEntry.id == grouped.c.entry_id)
        .order_by(grouped.c.entry_id.desc())
        .offset(offset)
        .limit(limit)
    )
    return total, [
        StatementRow(
            entry_id=row[0],
            transaction_id=row[1],
            kind=row[2],
            amount=int(row[3]),
            balance_after=int(row[4] or 0),
            reason=row[5],
            actor=row[6],
            order_id=row[7],
            refund_id=row[8],
            occurred_at=row[9],
            lot_expires_at=row[10],
        )
        for row in rows
    ]


def growth_credits(
    statement: Select[*_Ts],
    *,
    member_id: int,
    transaction_kind: str,
    reason: str | None,
    start: datetime,
    until: datetime,
) -> Select[*_Ts]:
    """Read ``statement`` over the member's growth entries of a kind (and reason) in a span.

    The span is [start, until); ``reason`` None: any reason.
    """
    return (
        statement.select_from(LedgerEntry)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .join(
            Account,
            and_(Account.id == LedgerEntry.account_id, Account.code == AccountCode.member),
        )
        .where(
            LedgerTransaction.member_id == member_id,
            LedgerTransaction.kind == transaction_kind,
            LedgerTransaction.reason == reason if reason is not None else true(),
            LedgerTransaction.occurred_at >= start,
            LedgerTransaction.occurred_at < until,
            LedgerEntry.asset == Asset.growth,
        )
    )


def growth_credited(
    session: Session,
    *,
    member_id: int,
    transaction_kind: str,
    reason: str | None,
    start: datetime,
    until: datetime,
) -> int:
    """Sum the growth credited to the member by transactions of a kind within [start, until).

    ``reason`` None: any reason.
    """
    total = session.scalar(
        growth_credits(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)),
            member_id=member_id,
            transaction_kind=transaction_kind,
            reason=reason,
            start=start,
            until=until,
        )
    )
    return int(total or 0)


def _growth_refreshed(program_id: int, now: datetime) -> Select[int | None, int, datetime]:
    """Per member with growth: the balance and when growth was last credited or decayed.

    Every credit counts, also one dated after a run's ``as_of``: a run for a past date never
    decays growth a member has earned since. A credit dated in the future (beyond the clock
    tolerance at ``now``) does not: no one is made immune to decay by a date in 2999.
    """
    return (
        select(
            Account.member_id,
            Account.balance,
            func.max(LedgerTransaction.occurred_at).label("refreshed_at"),
        )
        .join(LedgerEntry, LedgerEntry.account_id == Account.id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(
            Account.program_id == program_id,
            Account.asset == Asset.growth,
            Account.code == AccountCode.member,
            Account.balance > 0,
            or_(LedgerEntry.amount > 0, LedgerTransaction.kind == TransactionKind.decay),
            LedgerTransaction.occurred_at <= now + FUTURE_TOLERANCE,
        )
        .group_by(Account.member_id, Account.balance)
    )


def growth_refreshed(
    session: Session, *, program_id: int, member_id: int, now: datetime
) -> Row[int | None, int, datetime] | None:
    """Return the member's growth balance and when it was last refreshed (see above).

    None when the member holds no growth.
    """
    return session.execute(
        _growth_refreshed(program_id, now).where(Account.member_id == member_id)
    ).one_or_none()


def growth_idle_since(
    session: Session, *, program_id: int, cutoff: datetime, now: datetime
) -> list[int]:
    """Return the ids of members holding growth last refreshed at or before ``cutoff``."""
    query = _growth_refreshed(program_id, now)
    return [
        row.member_id
        for row in session.execute(
            query.having(func.max(LedgerTransaction.occurred_at) <= cutoff).order_by(
                Account.member_id
            )
        )
        if row.member_id is not None
    ]


def _lots_due(as_of: datetime, program_id: int | None) -> list[ColumnElement[bool]]:
    """Select the lots still holding points past expiry by ``as_of`` (of one program, or all)."""
    due = [PointsLot.expires_at <= as_of, PointsLot.remaining > 0]
    if program_id is not None:
        due.append(PointsLot.program_id == program_id)
    return due


def members_with_due_lots(
    session: Session, *, as_of: datetime, program_id: int | None = None
) -> list[tuple[int, int]]:
    """Return (program id, member id) of every member with points past expiry by ``as_of``.

    With ``program_id``, only that program's members; else every program's.
    """
    return [
        (owner, member_id)
        for owner, member_id in session.execute(
            select(PointsLot.program_id, PointsLot.member_id)
            .where(*_lots_due(as_of, program_id))
            .group_by(PointsLot.program_id, PointsLot.member_id)
            .order_by(PointsLot.member_id)
        )
    ]


def due_lot_count(session: Session, *, as_of: datetime, program_id: int | None = None) -> int:
    """Return how many lots still hold points past expiry by ``as_of`` (of one program, or all)."""
    return session.scalar(select(func.count()).where(*_lots_due(as_of, program_id))) or 0

"""Staff reads: accounts with their stores, a session by its token, recent sign-in attempts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from memberkit.staff.models import LoginAttempt, LoginOutcome, StaffSession, StaffStore, StaffUser
from memberkit.store.models import Store


def store_codes(session: Session, *, staff_ids: Collection[int]) -> dict[int, tuple[str, ...]]:
    """Return the codes of the stores each account acts for, sorted, by account id."""
    if not staff_ids:
        return {}
    rows = session.execute(
        select(StaffStore.staff_id, Store.code)
        .join(Store, Store.id == StaffStore.store_id)
        .where(StaffStore.staff_id.in_(staff_ids))
        .order_by(StaffStore.staff_id, Store.code)
    )
    codes: defaultdict[int, list[str]] = defaultdict(list)
    for staff_id, code in rows:
        codes[staff_id].append(code)
    return {staff_id: tuple(found) for staff_id, found in codes.items()}


def users(session: Session, *, program_id: int) -> list[StaffUser]:
    """Return the program's accounts, disabled ones included, by username."""
    return list(
        session.scalars(
            select(StaffUser)
            .where(StaffUser.program_id == program_id)
            .order_by(StaffUser.username_key)
        )
    )


def session_by_hash(session: Session, *, token_hash: str) -> tuple[StaffSession, StaffUser] | None:
    """Return the session whose token has this hash, with its account, if there is one."""
    row = session.execute(
        select(StaffSession, StaffUser)
        .join(StaffUser, StaffUser.id == StaffSession.staff_id)
        .where(StaffSession.token_hash == token_hash)
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None


def account_attempts(
    session: Session, *, program_id: int, username_hash: str, since: datetime
) -> list[tuple[datetime, bool]]:
    """Return the checked sign-ins of a username since ``since`` as ``(at, succeeded)``."""
    rows = session.execute(
        select(LoginAttempt.at, LoginAttempt.outcome).where(
            LoginAttempt.program_id == program_id,
            LoginAttempt.username_hash == username_hash,
            LoginAttempt.at > since,
            LoginAttempt.outcome.in_((LoginOutcome.ok, LoginOutcome.failed)),
        )
    )
    return [(at, outcome == LoginOutcome.ok) for at, outcome in rows]


def address_failures(
    session: Session, *, program_id: int, ip: str, since: datetime
) -> list[datetime]:
    """Return when sign-ins from one network address failed since ``since``."""
    return list(
        session.scalars(
            select(LoginAttempt.at).where(
                LoginAttempt.program_id == program_id,
                LoginAttempt.ip == ip,
                LoginAttempt.at > since,
                LoginAttempt.outcome == LoginOutcome.failed,
            )
        )
    )


def session_count(session: Session, *, staff_id: int) -> int:
    """Return how many sessions an account has open (ended or not yet purged)."""
    found = session.scalar(
        select(func.count()).select_from(StaffSession).where(StaffSession.staff_id == staff_id)
    )
    return int(found or 0)

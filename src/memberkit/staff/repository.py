"""Staff writes and locks: accounts, their stores, sessions, sign-in attempts."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Delete, delete, insert, select, update
from sqlalchemy.orm import Session

from memberkit.db import table
from memberkit.staff.models import LoginAttempt, StaffSession, StaffStore, StaffUser

_users = table(StaffUser)
_bindings = table(StaffStore)
_sessions = table(StaffSession)
_attempts = table(LoginAttempt)


def _count(session: Session, statement: Delete) -> int:
    return int(session.connection().execute(statement).rowcount)


def add_user(session: Session, *, user: StaffUser) -> StaffUser:
    """Insert a new account (its id is set on return)."""
    session.add(user)
    session.flush()
    return user


def user(
    session: Session, *, program_id: int, username_key: str, lock: bool = False
) -> StaffUser | None:
    """Return the program's account with this username key, locked if asked."""
    query = select(StaffUser).where(
        StaffUser.program_id == program_id, StaffUser.username_key == username_key
    )
    if lock:  # and read it afresh, should the session hold it already
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).one_or_none()


def change_user(session: Session, *, user: StaffUser, **values: Any) -> None:
    """Set columns of an account (its ``updated_at`` moves too)."""
    for name, value in values.items():
        setattr(user, name, value)
    session.flush()


def lock_active_owners(session: Session, *, program_id: int) -> list[int]:
    """Lock the program's active owner accounts, in id order; return their ids.

    Taken before a change that could leave the program without an owner, so two such
    changes at once cannot both see another owner left.
    """
    return list(
        session.scalars(
            select(StaffUser.id)
            .where(
                StaffUser.program_id == program_id,
                StaffUser.role == "owner",
                StaffUser.active.is_(True),
            )
            .order_by(StaffUser.id)
            .with_for_update()
        )
    )


def bind_stores(session: Session, *, staff_id: int, store_ids: Collection[int]) -> None:
    """Make ``store_ids`` the stores the account acts for, replacing the ones it had."""
    session.execute(delete(_bindings).where(_bindings.c.staff_id == staff_id))
    if store_ids:
        session.execute(
            insert(_bindings),
            [{"staff_id": staff_id, "store_id": store_id} for store_id in sorted(store_ids)],
        )


def add_session(
    session: Session,
    *,
    staff_id: int,
    token_hash: str,
    now: datetime,
    ip: str | None,
    user_agent: str | None,
) -> int:
    """Insert a session and return its id."""
    row = StaffSession(
        staff_id=staff_id,
        token_hash=token_hash,
        created_at=now,
        last_seen_at=now,
        ip=ip,
        user_agent=user_agent,
    )
    session.add(row)
    session.flush()
    return row.id


def touch_session(session: Session, *, session_id: int, now: datetime, before: datetime) -> None:
    """Note activity on a session unless some was noted since ``before`` (one write a minute)."""
    session.execute(
        update(_sessions)
        .where(_sessions.c.id == session_id, _sessions.c.last_seen_at < before)
        .values(last_seen_at=now)
    )


def end_session(
    session: Session, *, token_hash: str | None = None, session_id: int | None = None
) -> int:
    """Delete one session, by its token's hash or its id; returns how many were deleted."""
    condition = (
        _sessions.c.token_hash == token_hash
        if token_hash is not None
        else _sessions.c.id == session_id
    )
    return _count(session, delete(_sessions).where(condition))


def end_sessions(session: Session, *, staff_id: int, keep: int | None = None) -> int:
    """Delete every session of an account but ``keep``; returns how many were deleted."""
    query = delete(_sessions).where(_sessions.c.staff_id == staff_id)
    if keep is not None:
        query = query.where(_sessions.c.id != keep)
    return _count(session, query)


def add_attempt(
    session: Session,
    *,
    program_id: int,
    username_hash: str,
    staff_id: int | None,
    ip: str,
    at: datetime,
    outcome: str,
) -> None:
    """Record one sign-in attempt."""
    session.execute(
        insert(_attempts).values(
            program_id=program_id,
            username_hash=username_hash,
            staff_id=staff_id,
            ip=ip,
            at=at,
            outcome=outcome,
        )
    )


def purge_attempts(session: Session, *, program_id: int, before: datetime) -> int:
    """Delete the program's sign-in attempts older than ``before``; returns how many."""
    return _count(
        session,
        delete(_attempts).where(_attempts.c.program_id == program_id, _attempts.c.at < before),
    )


def purge_sessions(
    session: Session, *, program_id: int, idle_before: datetime, created_before: datetime
) -> int:
    """Delete the program's sessions idle since ``idle_before`` or opened before ``created_before``.

    Those are the sessions that have ended (see :func:`memberkit.staff.rules.session_ends_at`).
    """
    accounts = select(_users.c.id).where(_users.c.program_id == program_id)
    return _count(
        session,
        delete(_sessions).where(
            _sessions.c.staff_id.in_(accounts),
            (_sessions.c.last_seen_at < idle_before) | (_sessions.c.created_at < created_before),
        ),
    )

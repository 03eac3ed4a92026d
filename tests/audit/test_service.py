"""The audit log on a real database: entries written with changes, masked at rest, browsed."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import DBAPIError

from memberkit.audit import service as audit
from memberkit.audit.models import AuditEntry
from memberkit.audit.rules import Origin
from memberkit.db import Database, table
from memberkit.kit.pagination import Page
from memberkit.kit.time import utcnow
from memberkit.program.service import ProgramConfig
from memberkit.staff import errors
from memberkit.staff import rules as staff_rules
from memberkit.staff import service as staff_service
from memberkit.staff.rules import Action, Actor, Role
from tests.rest import table_contents

OWNER = Actor(1, "owner", Role.owner)
ANALYST = Actor(2, "analyst", Role.analyst)
PROFILE = {"phone": "13800138000", "name": "张三", "tags": ["vip"]}


def _record(database: Database, program: ProgramConfig, **values: object) -> int:
    fields: dict[str, object] = {
        "origin": Origin("alice", ip="10.0.0.1", user_agent="Safari"),
        "action": "member.update",
        "subject_type": "member",
        "subject_id": "800000000018",
        **values,
    }
    with database.session_scope() as session:
        return audit.record(session, program_id=program.id, **fields).id  # type: ignore[arg-type]


def test_personal_data_is_masked_at_rest_and_sealed_beside_it(
    database: Database, program: ProgramConfig
) -> None:
    # when a member's phone and name are changed
    _record(
        database,
        program,
        before=PROFILE,
        after={**PROFILE, "phone": "13900139000", "name": "张三丰"},
    )

    # then the row keeps them masked, and the values as they were only sealed
    with database.session_scope(read_only=True) as session:
        row = session.scalars(select(AuditEntry)).one()
    assert (row.before, row.after) == (
        {"phone": "138****8000", "name": "张*", "tags": ["vip"]},
        {"phone": "139****9000", "name": "张**", "tags": ["vip"]},
    )
    contents = repr(table_contents(database))
    assert "13800138000" not in contents and "张三丰" not in contents
    assert row.sealed is not None and row.sealed.startswith("v2:")

    # and an owner browsing the log sees them as they were
    page = _browse(database, program, OWNER)
    assert [(e.before, e.after, e.unmasked) for e in page.items] == [
        (PROFILE, {**PROFILE, "phone": "13900139000", "name": "张三丰"}, True)
    ]
    assert (page.items[0].actor_name, page.items[0].ip, page.items[0].user_agent) == (
        "alice",
        "10.0.0.1",
        "Safari",
    )


def _browse(
    database: Database, program: ProgramConfig, viewer: Actor, **values: object
) -> Page[audit.EntryView]:
    with database.session_scope(read_only=True) as session:
        return staff_service.browse_audit(session, program_id=program.id, viewer=viewer, **values)  # type: ignore[arg-type]


def test_nothing_is_sealed_when_nothing_is_personal(
    database: Database, program: ProgramConfig
) -> None:
    _record(database, program, subject_type="store", subject_id="SH001", after={"name": "徐家汇店"})
    with database.session_scope(read_only=True) as session:
        row = session.scalars(select(AuditEntry)).one()
    assert (row.after, row.sealed) == ({"name": "徐家汇店"}, None)


def test_a_role_that_may_not_see_personal_data_sees_the_log_masked(
    database: Database, program: ProgramConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # should the table ever let such a role read the log
    monkeypatch.setitem(
        staff_rules.PERMISSIONS, Action.view_audit, frozenset({Role.owner, Role.analyst})
    )
    _record(database, program, before=PROFILE, after=None)
    [entry] = _browse(database, program, ANALYST).items
    assert (entry.before, entry.unmasked) == (
        {"phone": "138****8000", "name": "张*", "tags": ["vip"]},
        False,
    )


def test_only_owners_and_admins_browse_the_log(database: Database, program: ProgramConfig) -> None:
    with pytest.raises(errors.NotPermitted):
        _browse(database, program, ANALYST)


def test_a_sealed_value_copied_to_another_entry_does_not_open(
    database: Database, program: ProgramConfig
) -> None:
    _record(database, program, before=PROFILE)
    with database.session_scope() as session:
        original = session.scalars(select(AuditEntry)).one()
        session.execute(
            insert(table(AuditEntry)).values(
                uid=uuid.uuid4().hex,
                program_id=program.id,
                actor_name="mallory",
                action="member.update",
                subject_type="member",
                subject_id="800000000026",
                before=original.before,
                sealed=original.sealed,
                at=utcnow(),
            )
        )
    copied, first = _browse(database, program, OWNER).items
    assert (copied.unreadable, copied.unmasked, copied.before) == (True, False, original.before)
    assert (first.unreadable, first.unmasked, first.before) == (False, True, PROFILE)


def test_entries_cannot_be_updated(database: Database, program: ProgramConfig) -> None:
    entry_id = _record(database, program, before=PROFILE)
    before = table_contents(database)
    with pytest.raises(DBAPIError, match="append-only"), database.session_scope() as session:
        session.execute(
            update(table(AuditEntry))
            .where(table(AuditEntry).c.id == entry_id)
            .values(actor_name="x")
        )
    with pytest.raises(DBAPIError, match="append-only"), database.session_scope() as session:
        session.execute(text("UPDATE audit_entries SET after = NULL"))
    assert table_contents(database) == before


def test_the_log_is_filtered_and_paged_by_keyset(
    database: Database, program: ProgramConfig
) -> None:
    # given six entries by two actors over three days
    now = utcnow()
    made = []
    for number in range(6):
        made.append(
            _record(
                database,
                program,
                origin=Origin("alice" if number % 2 else "bob", actor_id=None),
                action="staff.update" if number < 3 else "staff.disable",
                subject_type="staff",
                subject_id=str(number % 3),
                at=now - timedelta(days=2 - number // 2),
            )
        )

    # pages of two, newest first, each starting after the last of the previous one
    first = _browse(database, program, OWNER, limit=2)
    second = _browse(database, program, OWNER, limit=2, after=first.next_after)
    third = _browse(database, program, OWNER, limit=2, after=second.next_after)
    assert [[e.id for e in page.items] for page in (first, second, third)] == [
        made[5:3:-1],
        made[3:1:-1],
        made[1::-1],
    ]
    assert third.next_after is None

    # filters
    def ids(**filters: object) -> list[int]:
        page = _browse(database, program, OWNER, filters=audit.AuditFilter(**filters))  # type: ignore[arg-type]
        return [e.id for e in page.items]

    assert ids(action="staff.disable") == made[5:2:-1]
    assert ids(subject_type="staff", subject_id="1") == [made[4], made[1]]
    assert ids(since=now - timedelta(days=1, hours=1)) == made[5:1:-1]
    assert ids(until=now - timedelta(days=1, hours=1)) == made[1::-1]
    assert ids(action="staff.update", since=now - timedelta(days=1, hours=1)) == [made[2]]
    assert ids(subject_type="member") == []


def test_a_change_is_audited_around_the_block_that_makes_it(
    database: Database, program: ProgramConfig
) -> None:
    state = {"name": "old"}

    def run(change: dict[str, str], *, fail: bool = False) -> audit.Audited:
        with database.session_scope() as session:
            with audit.audited(
                session,
                program_id=program.id,
                origin=Origin("alice"),
                action="store.update",
                subject_type="store",
                subject_id="SH001",
                snapshot=lambda: dict(state),
            ) as change_audit:
                state.update(change)
                if fail:
                    raise RuntimeError("refused")
            return change_audit

    changed = run({"name": "new"})
    unchanged = run({"name": "new"})
    with pytest.raises(RuntimeError):
        run({"name": "newer"}, fail=True)
    assert changed.entry is not None and unchanged.entry is None
    [entry] = _browse(database, program, OWNER).items
    assert (entry.action, entry.before, entry.after) == (
        "store.update",
        {"name": "old"},
        {"name": "new"},
    )

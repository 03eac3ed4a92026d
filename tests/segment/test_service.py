"""Segments stored: refresh in full and for some members, history, archive, static uploads."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from memberkit.db import Database
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.order.models import Order
from memberkit.pipeline import BACKGROUND
from memberkit.program.service import ProgramConfig
from memberkit.segment import queries, service
from memberkit.segment.models import (
    Segment,
    SegmentKind,
    SegmentMember,
    SegmentMembershipEvent,
)
from memberkit.segment.repository import Moved
from memberkit.segment.tree import InvalidDefinition
from tests.factories import make_member, post_order

VIP = {"all": [{"field": "tag", "op": "any_of", "value": ["vip"]}]}
T1 = datetime(2026, 6, 1, tzinfo=UTC)
T2 = datetime(2026, 6, 2, tzinfo=UTC)


def members_of(database: Database, segment_id: int) -> set[int]:
    with database.session_scope(read_only=True) as session:
        return set(
            session.scalars(
                select(SegmentMember.member_id).where(SegmentMember.segment_id == segment_id)
            )
        )


def history_of(database: Database, segment_id: int) -> list[tuple[int, str, datetime]]:
    with database.session_scope(read_only=True) as session:
        rows = session.execute(
            select(
                SegmentMembershipEvent.member_id,
                SegmentMembershipEvent.change,
                SegmentMembershipEvent.at,
            )
            .where(SegmentMembershipEvent.segment_id == segment_id)
            .order_by(SegmentMembershipEvent.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def tag(database: Database, member: Member, tags: list[str]) -> None:
    with database.session_scope() as session:
        found = session.get(Member, member.id)
        assert found is not None
        member_service.change(session, member=found, changes={"tags": tags})


def test_a_rule_segment_is_filled_refreshed_and_keeps_its_history(
    database: Database, program: ProgramConfig
) -> None:
    # Given two vip members and one other, and a segment of vips
    with database.session_scope() as session:
        ann = make_member(session, program, tags=["vip"])
        bob = make_member(session, program, tags=["vip"])
        cat = make_member(session, program)
        segment = service.create(
            session, program=program, name="VIP", kind=SegmentKind.rule, definition=VIP
        )
    assert members_of(database, segment.id) == {ann.id, bob.id}
    # When Bob loses the tag and Cat gains it, and the segment is refreshed at T1
    tag(database, bob, [])
    tag(database, cat, ["vip"])
    with database.session_scope() as session:
        stored = session.get(Segment, segment.id)
        assert stored is not None
        moved = service.refresh(session, program=program, segment=stored, now=T1)
    # Then Cat entered and Bob left, and the count says so
    assert moved == Moved(entered=1, left=1)
    assert members_of(database, segment.id) == {ann.id, cat.id}
    history = history_of(database, segment.id)
    assert [(m, c) for m, c, _ in history] == [
        (ann.id, "entered"),
        (bob.id, "entered"),
        (bob.id, "left"),
        (cat.id, "entered"),
    ]
    assert history[2][2] == T1
    with database.session_scope(read_only=True) as session:
        stored = session.get(Segment, segment.id)
        assert stored is not None
        assert (stored.member_count, stored.refreshed_at) == (2, T1)
    # And a second refresh moves no one
    with database.session_scope() as session:
        stored = session.get(Segment, segment.id)
        assert stored is not None
        assert service.refresh(session, program=program, segment=stored, now=T2) == Moved(0, 0)
    assert len(history_of(database, segment.id)) == 4


def test_refresh_members_looks_at_those_members_only(
    database: Database, program: ProgramConfig
) -> None:
    # Given a vip segment with Ann in it
    with database.session_scope() as session:
        ann = make_member(session, program, tags=["vip"])
        bob = make_member(session, program)
        cat = make_member(session, program)
        segment = service.create(
            session, program=program, name="VIP", kind=SegmentKind.rule, definition=VIP
        )
    # When Bob and Cat become vips and Ann stops, but only Bob and Ann are re-evaluated
    tag(database, ann, [])
    tag(database, bob, ["vip"])
    tag(database, cat, ["vip"])
    with database.session_scope() as session:
        moved = service.refresh_members(
            session, program=program, member_ids=[ann.id, bob.id], now=T1
        )
    # Then Ann left and Bob entered; Cat waits for the full refresh
    assert moved == Moved(entered=1, left=1)
    assert members_of(database, segment.id) == {bob.id}
    with database.session_scope(read_only=True) as session:
        stored = session.get(Segment, segment.id)
        assert stored is not None and stored.member_count == 1


def test_a_bad_rule_or_a_taken_name_creates_nothing(
    database: Database, program: ProgramConfig
) -> None:
    with database.session_scope() as session:
        service.create(session, program=program, name="VIP", kind=SegmentKind.rule, definition=VIP)
    with pytest.raises(InvalidDefinition), database.session_scope() as session:
        service.create(
            session, program=program, name="Other", kind=SegmentKind.rule, definition={"all": []}
        )
    with pytest.raises(service.SegmentNameTaken), database.session_scope() as session:
        service.create(session, program=program, name="VIP", kind=SegmentKind.rule, definition=VIP)
    with database.session_scope(read_only=True) as session:
        assert [s.name for s in queries.listing(session, program_id=program.id)] == ["VIP"]


def test_archiving_lets_members_leave_and_keeps_the_history(
    database: Database, program: ProgramConfig
) -> None:
    with database.session_scope() as session:
        ann = make_member(session, program, tags=["vip"])
        segment = service.create(
            session, program=program, name="VIP", kind=SegmentKind.rule, definition=VIP
        )
    with database.session_scope() as session:
        service.archive(session, program=program, segment_id=segment.id)
    assert members_of(database, segment.id) == set()
    assert [(m, c) for m, c, _ in history_of(database, segment.id)] == [
        (ann.id, "entered"),
        (ann.id, "left"),
    ]
    with database.session_scope() as session:
        assert queries.listing(session, program_id=program.id) == []
        with pytest.raises(service.SegmentNotFound):
            service.get(session, program=program, segment_id=segment.id)
        # The name is free again
        service.create(session, program=program, name="VIP", kind=SegmentKind.rule, definition=VIP)


def test_a_static_upload_adds_known_members_and_reports_the_rest(
    database: Database, program: ProgramConfig
) -> None:
    with database.session_scope() as session:
        ann = make_member(session, program, phone="13900000001")
        bob = make_member(session, program)
        segment = service.create(session, program=program, name="List", kind=SegmentKind.static)
    lines = [
        "member_no",
        "13900000001",
        bob.member_no,
        "13911112222",
        "nonsense",
        "",
        bob.member_no,
    ]
    with database.session_scope() as session:
        upload = service.add_listed(session, program=program, segment_id=segment.id, lines=lines)
    assert (upload.added, upload.found, upload.unknown) == (2, 2, ["13911112222", "nonsense"])
    assert members_of(database, segment.id) == {ann.id, bob.id}
    # A repeat adds no one again
    with database.session_scope() as session:
        again = service.add_listed(session, program=program, segment_id=segment.id, lines=lines)
        assert again.added == 0
        assert service.get(session, program=program, segment_id=segment.id).member_count == 2


SPENDERS = {"all": [{"field": "spend", "op": "gte", "value": 5000, "days": 30}]}


def test_an_order_refreshes_its_members_segments_after_commit(
    database: Database, program: ProgramConfig
) -> None:
    # Given a segment of members who spent ¥50 in 30 days, and a member who did not yet
    with database.session_scope() as session:
        ann = make_member(session, program)
        segment = service.create(
            session, program=program, name="Spenders", kind=SegmentKind.rule, definition=SPENDERS
        )
    assert members_of(database, segment.id) == set()
    # When an order of ¥60 is posted and committed
    with database.session_scope() as session:
        post_order(session, program, ann, amount_minor=6000)
    # Then, once the background refresh has run, the member entered it, written as history
    assert BACKGROUND.settle()
    assert members_of(database, segment.id) == {ann.id}
    assert [(m, c) for m, c, _ in history_of(database, segment.id)] == [(ann.id, "entered")]


def test_a_rolled_back_order_refreshes_nothing_and_a_failing_refresh_spares_the_order(
    database: Database, program: ProgramConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database.session_scope() as session:
        ann = make_member(session, program)
        segment = service.create(
            session, program=program, name="Spenders", kind=SegmentKind.rule, definition=SPENDERS
        )
    # When an order is rolled back, then no one enters
    with database.session_scope(rollback=True) as session:
        post_order(session, program, ann, amount_minor=6000)
    assert BACKGROUND.settle()
    assert members_of(database, segment.id) == set()

    # When the refresh fails after the order commits, then the order stands
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "refresh_members", broken)
    with database.session_scope() as session:
        result = post_order(session, program, ann, amount_minor=6000, external_id="KEPT")
    assert BACKGROUND.settle()
    with database.session_scope(read_only=True) as session:
        assert (
            session.scalar(select(Order.id).where(Order.external_id == "KEPT")) == result.order_id
        )
    assert members_of(database, segment.id) == set()


def test_the_order_commits_without_waiting_for_the_segment_refresh(
    database: Database, program: ProgramConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a segment of spenders, and a refresh held back until the test lets it go
    with database.session_scope() as session:
        ann = make_member(session, program)
        segment = service.create(
            session, program=program, name="Spenders", kind=SegmentKind.rule, definition=SPENDERS
        )
    release = threading.Event()
    moves = service.members_move

    def held(*args: object, **kwargs: object) -> bool:
        assert release.wait(10)
        return moves(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "members_move", held)
    # When an order commits while the refresh is held
    with database.session_scope() as session:
        post_order(session, program, ann, amount_minor=6000)
    # Then the order's unit of work is done and the member not yet in the segment
    assert not BACKGROUND.settle(timeout=0.2)
    assert members_of(database, segment.id) == set()
    # And once the refresh runs, the member is in
    release.set()
    assert BACKGROUND.settle()
    assert members_of(database, segment.id) == {ann.id}

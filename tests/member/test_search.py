"""Search by tag and by full name: member_tags kept in step with the tags, the name's blind index."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from memberkit.cli.main import app
from memberkit.db import Database
from memberkit.member import queries
from memberkit.member import service as member_service
from memberkit.member.models import Member, MemberTag
from memberkit.member.rules import name_index, normalize_name
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from tests.admin.conftest import PASSWORDS, cheap_hashes, staff
from tests.admin.test_views import sign_in
from tests.factories import make_member, make_store, post_order

__all__ = ["PASSWORDS", "cheap_hashes", "staff"]


def tags_held(session: Session) -> list[tuple[str, str]]:
    """Every row of member_tags as (card number, tag), sorted."""
    rows = session.execute(
        select(Member.member_no, MemberTag.tag).join(Member, Member.id == MemberTag.member_id)
    )
    return sorted((no, tag) for no, tag in rows)


def found(session: Session, program: ProgramConfig, **wanted: object) -> list[str]:
    """The card numbers the console's list shows for a filter, newest first."""
    rows, _next = queries.listing(
        session, program_id=program.id, wanted=queries.MemberFilter(**wanted)
    )
    return [row.member.member_no for row in rows]


def test_member_tags_follow_registration_and_every_change_of_tags(
    database: Database, program: ProgramConfig
) -> None:
    # given a member registered with two tags (one twice) and one with none
    with database.session_scope() as session:
        tagged = make_member(session, program, tags=["vip", "office", "vip"])
        plain = make_member(session, program)
    with database.session_scope() as session:
        assert tags_held(session) == [(tagged.member_no, "office"), (tagged.member_no, "vip")]

    # when the tags change: one kept, one dropped, one added; the other member gets one
    with database.session_scope() as session:
        member = member_service.find(session, program_id=program.id, member_no=tagged.member_no)
        member_service.change(session, member=member, changes={"tags": ["vip", "student"]})
        other = member_service.find(session, program_id=program.id, member_no=plain.member_no)
        member_service.change(session, member=other, changes={"tags": ["office"]})

    # then member_tags holds exactly what each member's tags say
    with database.session_scope() as session:
        assert tags_held(session) == sorted(
            [(tagged.member_no, "student"), (tagged.member_no, "vip"), (plain.member_no, "office")]
        )
        assert session.get(Member, tagged.id).tags == ["student", "vip"]  # type: ignore[union-attr]

    # and a change that leaves the tags out, or empties them, is followed too
    with database.session_scope() as session:
        member = member_service.find(session, program_id=program.id, member_no=tagged.member_no)
        member_service.change(session, member=member, changes={"gender": "female"})
    with database.session_scope() as session:
        assert (tagged.member_no, "vip") in tags_held(session)
        member = member_service.find(session, program_id=program.id, member_no=tagged.member_no)
        member_service.change(session, member=member, changes={"tags": []})
    with database.session_scope() as session:
        assert tags_held(session) == [(plain.member_no, "office")]


def test_a_tag_search_finds_exactly_the_members_holding_the_tag(
    database: Database, program: ProgramConfig
) -> None:
    # given members tagged vip, vip_gold (a longer tag), and a name that looks like a tag
    with database.session_scope() as session:
        vip = make_member(session, program, tags=["vip"]).member_no
        longer = make_member(session, program, tags=["vip_gold"]).member_no
        both = make_member(session, program, tags=["office", "vip"]).member_no
        make_member(session, program, name="vip2", tags=["office"])

    # when the list is searched by tag, then exactly the holders show, newest first
    with database.session_scope() as session:
        assert found(session, program, tag="vip") == [both, vip]
        assert found(session, program, tag="vip_gold") == [longer]
        assert found(session, program, tag="vi%") == []
        assert found(session, program, tag="nobody") == []


def test_a_name_is_found_whole_never_by_a_part(database: Database, program: ProgramConfig) -> None:
    # given members named 张三丰, 张三 and "Li Lei", and one without a name
    with database.session_scope() as session:
        zsf = make_member(session, program, name="张三丰").member_no
        zs = make_member(session, program, name="张三").member_no
        li = make_member(session, program, name="Li Lei").member_no
        make_member(session, program)

    with database.session_scope() as session:
        # when searched by a full name, then that member alone is found
        assert found(session, program, name_index=name_index("张三丰")) == [zsf]
        assert found(session, program, name_index=name_index("张三")) == [zs]
        # written with other spaces, case or full-width letters, the same name is found
        for written in ("li lei", "LI  LEI", "ｌｉ ｌｅｉ", " Li Lei "):
            assert found(session, program, name_index=name_index(written)) == [li]
        # and a part of a name (the surname, the given name) finds nobody
        for part in ("张", "三丰", "Li", "Lei"):
            assert found(session, program, name_index=name_index(part)) == []
    assert name_index("") is None and name_index("   ") is None
    assert normalize_name(" Zhang  San ") == "zhangsan"


def test_renaming_a_member_moves_the_name_index(database: Database, program: ProgramConfig) -> None:
    # given a member named 李四
    with database.session_scope() as session:
        member_no = make_member(session, program, name="李四").member_no

    # when renamed 李思, then found by the new name only; when the name is removed, by none
    with database.session_scope() as session:
        member = member_service.find(session, program_id=program.id, member_no=member_no)
        member_service.change(session, member=member, changes={"name": "李思"})
    with database.session_scope() as session:
        assert found(session, program, name_index=name_index("李思")) == [member_no]
        assert found(session, program, name_index=name_index("李四")) == []
        member = member_service.find(session, program_id=program.id, member_no=member_no)
        member_service.change(session, member=member, changes={"name": None})
    with database.session_scope() as session:
        assert found(session, program, name_index=name_index("李思")) == []
        assert session.get(Member, _id(session, member_no)).name_index is None  # type: ignore[union-attr]


def _id(session: Session, member_no: str) -> int:
    return int(session.scalar(select(Member.id).where(Member.member_no == member_no)) or 0)


def test_the_search_keeps_the_viewers_stores(database: Database, program: ProgramConfig) -> None:
    # given two members of the same name and tag, at SH001 and SH002
    with database.session_scope() as session:
        make_store(session, program, code="SH001")
        make_store(session, program, code="SH002")
        mine = make_member(session, program, name="王芳", tags=["vip"], store_code="SH001")
        make_member(session, program, name="王芳", tags=["vip"], store_code="SH002")

    # when a viewer bound to SH001 searches by the name or the tag, then only SH001's shows
    with database.session_scope() as session:
        for search in ({"name_index": name_index("王芳")}, {"tag": "vip"}):
            assert found(session, program, stores=["SH001"], **search) == [mine.member_no]
            assert len(found(session, program, **search)) == 2


def test_reindex_names_indexes_the_members_registered_before(
    database: Database, program: ProgramConfig
) -> None:
    # given members whose names were stored before names were indexed (no index), one unnamed
    with database.session_scope() as session:
        named = [make_member(session, program, name=f"赵{n}") for n in range(3)]
        make_member(session, program)
        session.execute(update(Member).values(name_index=None))
    with database.session_scope() as session:
        assert found(session, program, name_index=name_index("赵1")) == []
        updated = session.execute(text("SELECT id, updated_at FROM members ORDER BY id")).all()

    # when the backfill runs (twice: it is safe to repeat)
    first = CliRunner().invoke(app, ["db", "reindex-names"])
    second = CliRunner().invoke(app, ["db", "reindex-names"])

    # then each named member is found by name, and the second run had nothing to do
    assert first.exit_code == 0, first.output
    assert "3 members' names indexed." in first.output or "已为 3 位" in first.output
    assert "0 members' names indexed." in second.output or "已为 0 位" in second.output
    with database.session_scope() as session:
        for n, member in enumerate(named):
            assert found(session, program, name_index=name_index(f"赵{n}")) == [member.member_no]
        indexes = session.execute(text("SELECT name_index FROM members ORDER BY id")).scalars()
        assert [value is not None for value in indexes] == [True, True, True, False]
        # and nothing else of theirs changed
        after = session.execute(text("SELECT id, updated_at FROM members ORDER BY id")).all()
        assert after == updated


def test_the_member_page_lists_the_soonest_lots_and_sums_the_rest(
    database: Database, program: ProgramConfig, client: TestClient, staff: dict[str, Actor]
) -> None:
    # given a member holding 23 lots of 10 points (23 orders of ¥10.00)
    with database.session_scope() as session:
        member = make_member(session, program)
        for n in range(23):
            post_order(session, program, member, amount_minor=1000, external_id=f"L-{n}")

    # when the owner opens the member's page
    assert sign_in(client, "owner").status_code == 303
    page = client.get(f"/admin/members/{member.member_no}")

    # then 20 lots are listed and the 3 later ones summed in one line
    assert page.status_code == 200
    lots = page.text.split('id="points"')[1].split("</table>")[0]
    assert lots.count("<tr><td>10</td>") == 20
    assert "以及之后的 3 个批次，共 30 积分" in lots or "and 3 later lots holding 30 points" in lots


def test_the_search_words_find_a_full_name_a_tag_or_both(
    database: Database, program: ProgramConfig
) -> None:
    # given a member named 小红, another tagged 小红, and one tagged vip
    with database.session_scope() as session:
        named = make_member(session, program, name="小红").member_no
        tagged = make_member(session, program, tags=["小红"]).member_no
        vip = make_member(session, program, tags=["vip"]).member_no

    def words(q: str) -> list[str]:
        return found(session, program, name_index=name_index(q), tag=q)

    with database.session_scope() as session:
        # when the same words are searched as a name and as a tag, then both kinds are found
        assert words("小红") == [tagged, named]
        # and words held as one kind only find that kind; held by nobody, nobody
        assert words("vip") == [vip]
        assert words("小明") == []
        # and with the card number beside words nobody holds, the card still finds its member
        assert found(
            session, program, member_no=vip, name_index=name_index("小明"), tag="小明"
        ) == [vip]


def test_the_export_reads_by_batches_and_yields_each_member_once(
    database: Database, program: ProgramConfig
) -> None:
    # given 57 members
    with database.session_scope() as session:
        made = [make_member(session, program).member_no for _ in range(57)]

    # when the list is exported in batches of 5
    with database.session_scope() as session:
        exported = [
            row.member.member_no
            for row in queries.exported(
                session, program_id=program.id, wanted=queries.MemberFilter(), batch=5
            )
        ]

    # then every member comes once, newest first
    assert exported == list(reversed(made))

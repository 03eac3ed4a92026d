"""The CSV importer checks every column as the API does, reports bad rows, imports the rest."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from memberkit.config import settings
from memberkit.db import Database
from memberkit.kit.time import today
from memberkit.member import importer
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.program import service as program_service
from memberkit.store import service as store_service
from memberkit.store.models import StoreType

HEADER = "phone,name,gender,birthday,email,store_code,channel,tags\n"


def rows(text: str) -> list[dict[str | None, str | list[str] | None]]:
    return list(csv.DictReader(io.StringIO(HEADER + text)))


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "default_locale", "en")


def test_every_column_is_checked_as_the_api_does_and_good_rows_are_imported(
    database: Database,
) -> None:
    # given a store and a file of good and bad rows
    with database.session_scope() as session:
        program = program_service.get(session)
        store_service.create(
            session,
            program_id=program.id,
            code="SH001",
            name="上海南京东路店",
            type=StoreType.direct,
            city="上海",
        )
    tomorrow = (today() + timedelta(days=1)).isoformat()
    text = (
        "13800138000,张三,男,1990-05-01,zs@example.com,SH001,store,vip;coffee\n"
        "13900139000,李四,女,,,,online,\n"
        "13700137000,王五,x,,,,,\n"
        f"13600136000,{'名' * 51},,,,,,\n"
        f"13500135000,赵六,,{tomorrow},,,,\n"
        "13400134000,,,,not-an-email,,,\n"
        "13300133000,,,,,NOPE,,\n"
        "13200132000,,,,,,weixin,\n"
        f"13100131000,,,,,,,ok;{'t' * 33}\n"
        f"13000130000,,,,,{'S' * 33},{'c' * 40},\n"
        "15900159000,钱七,female,,,,mini_program,b;a\n"
    )

    # when it is imported
    result = importer.import_rows(database, rows(text))

    # then each bad row says what is wrong with it, and the good ones are members
    assert (result.created, result.skipped) == (3, 0)
    assert result.errors == [
        (4, "gender 'x': String should match pattern '^(male|female|unknown)$'"),
        (5, f"name '{'名' * 51}': String should have at most 50 characters"),
        (6, "Invalid member data: birthday must be between 1900-01-01 and today"),
        (7, "Invalid member data: not-an-email is not an e-mail address"),
        (8, "No store with code NOPE."),
        (
            9,
            "channel 'weixin': Input should be 'store', 'online' or 'mini_program'",
        ),
        (10, f"tags.1 '{'t' * 33}': String should have at most 32 characters"),
        (
            11,
            f"store_code '{'S' * 33}': String should have at most 32 characters; "
            f"channel '{'c' * 40}': Input should be 'store', 'online' or 'mini_program'",
        ),
    ]
    with database.session_scope() as session:
        members = {
            view.phone: (view.name, view.gender, view.store_code, view.channel, view.tags)
            for view in (
                member_service.view(session, member)
                for member in session.scalars(select(Member).order_by(Member.id))
            )
        }
    assert members == {
        "13800138000": ("张三", "male", "SH001", "store", ["coffee", "vip"]),
        "13900139000": ("李四", "female", None, "online", []),
        "15900159000": ("钱七", "female", None, "mini_program", ["a", "b"]),
    }


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (
            ["phone", "name", "birthdy"],
            "unknown columns: birthdy (known: phone, name, gender, birthday, email, "
            "store_code, channel, tags)",
        ),
        (["name", "gender"], "the header has no phone column"),
    ],
)
def test_a_header_with_an_unknown_column_or_no_phone_is_refused(
    header: list[str], problem: str
) -> None:
    with pytest.raises(importer.ImportFileError) as refused:
        importer.check_header(header)
    assert str(refused.value) == problem


def test_a_row_with_more_fields_than_the_header_is_reported(database: Database) -> None:
    result = importer.import_rows(database, rows("13800138000,,,,,,,,extra\n"))
    assert (result.created, result.errors) == (0, [(2, "the row has more fields than the header")])

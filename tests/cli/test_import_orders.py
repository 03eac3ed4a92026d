"""``memberkit import orders``: CSV and Parquet files of history, the summary and exit code."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from memberkit.cli.main import app
from memberkit.config import settings
from memberkit.db import Database
from memberkit.order.models import Order

runner = CliRunner()


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "default_locale", "en")


def stored(database: Database) -> list[tuple[str, int, int | None, str]]:
    with database.session_scope() as session:
        rows = session.execute(
            select(Order.external_id, Order.total_minor, Order.member_id, Order.source).order_by(
                Order.external_id
            )
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_csv_is_imported_with_a_summary_and_exit_1_for_bad_rows(
    database: Database, tmp_path: Path
) -> None:
    # given a CSV of two good orders, a refund and one bad row
    csv_file = tmp_path / "orders.csv"
    csv_file.write_text(
        "external_id,occurred_at,phone,amount,type,order_external_id\n"
        "H-1,2019-05-01 10:00,13900000051,88.00,,\n"
        "H-2,2019-05-02,,12.50,,\n"
        "R-1,2019-05-03,,8.00,refund,H-1\n"
        "H-3,1980-01-01,,1.00,,\n",
        encoding="utf-8",
    )
    # when it is imported with --create-members, then again
    first = runner.invoke(app, ["import", "orders", str(csv_file), "--create-members"])
    second = runner.invoke(app, ["import", "orders", str(csv_file), "--create-members"])
    # then the first imports the good rows and reports the bad, the second finds them present
    assert first.exit_code == 1, first.output
    assert "Row 5: occurred_at must be on or after 1990-01-01" in first.output
    assert (
        "2 orders and 1 refunds imported (1 non-member orders), 0 already present, "
        "1 members created, 1 rows with errors." in " ".join(first.output.split())
    )
    assert "0 orders and 0 refunds imported (0 non-member orders), 3 already present" in (
        " ".join(second.output.split())
    )
    assert [(e, t, s) for e, t, _m, s in stored(database)] == [
        ("H-1", 8800, "history"),
        ("H-2", 1250, "history"),
    ]


def test_a_parquet_file_is_imported_and_a_clean_one_exits_0(
    database: Database, tmp_path: Path
) -> None:
    # given a Parquet file with typed columns (timestamps, decimals)
    from datetime import datetime

    path = tmp_path / "orders.parquet"
    pq.write_table(
        pa.table(
            {
                "external_id": ["P-1", "P-2"],
                "occurred_at": [datetime(2001, 1, 1, 12), datetime(2002, 2, 2, 8)],  # noqa: DTZ001
                "amount": pa.array([Decimal("19.90"), Decimal("5.00")], pa.decimal128(12, 2)),
                "store_code": [None, None],
            }
        ),
        path,
    )
    # when it is imported
    result = runner.invoke(app, ["import", "orders", str(path)])
    # then both orders are stored, no member, and the exit code is 0
    assert result.exit_code == 0, result.output
    assert stored(database) == [("P-1", 1990, None, "history"), ("P-2", 500, None, "history")]


def test_a_file_with_an_unknown_column_is_refused_with_exit_2(
    database: Database, tmp_path: Path
) -> None:
    csv_file = tmp_path / "orders.csv"
    csv_file.write_text("external_id,occurred_at,totl\nH-1,2019-05-01,1.00\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "orders", str(csv_file)])
    assert result.exit_code == 2
    assert "unknown columns: totl" in result.output
    assert stored(database) == []


def test_a_file_not_in_utf8_or_naming_a_column_twice_is_refused_before_any_row(
    database: Database, tmp_path: Path
) -> None:
    # given a GBK export (the usual one of a Chinese till) with 12,000 good rows before the
    # first Chinese character, and a UTF-8 file whose header names amount twice
    gbk = tmp_path / "gbk.csv"
    good = "".join(f"H-{n},2019-05-01,1.00,x\n" for n in range(12_000))
    gbk.write_bytes(
        ("external_id,occurred_at,amount,category\n" + good).encode()
        + "H-X,2019-05-01,1.00,咖啡\n".encode("gbk")
    )
    twice = tmp_path / "twice.csv"
    twice.write_text(
        "external_id,occurred_at,amount,amount\nD-1,2019-05-01,1.00,999.00\n", encoding="utf-8"
    )
    # when each is imported
    not_utf8 = runner.invoke(app, ["import", "orders", str(gbk)])
    doubled = runner.invoke(app, ["import", "orders", str(twice)])
    # then both are refused with exit 2, saying why, and nothing is imported
    assert not_utf8.exit_code == 2, not_utf8.output
    assert "line 12002 is not UTF-8 text" in not_utf8.output
    assert doubled.exit_code == 2, doubled.output
    assert "the header names amount more than once" in doubled.output
    assert stored(database) == []


def test_a_members_file_not_in_utf8_is_refused_with_exit_2(
    database: Database, tmp_path: Path
) -> None:
    gbk = tmp_path / "members.csv"
    gbk.write_bytes("phone,name\n13900000051,张三\n".encode("gbk"))
    result = runner.invoke(app, ["import", "members", str(gbk)])
    assert result.exit_code == 2, result.output
    assert "not UTF-8 text" in result.output

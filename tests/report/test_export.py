"""The files a document is written to: text stays text in Excel, every cell in the PDF."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from pypdf import PdfReader

from memberkit.report import export
from memberkit.report.document import Chart, Column, Document, Section


def _document() -> Document:
    return Document(
        name="sales",
        title="销售报表",
        filters=[("门店", '=HYPERLINK("x")')],
        sections=[
            Section(
                "by_store",
                "按门店",
                [Column("门店", "text"), Column("销售额", "money"), Column("占比", "ratio")],
                [["=1+1", 123_456, None], ["上海 <b>店</b>", -50, "0.1234"]],
                Chart("bar", ["=1+1", "上海"], [("销售额", [123_456, -50])], money=True),
            )
        ],
        notes=["说明 & 定义"],
    )


def test_a_name_that_reads_as_a_formula_stays_text_and_money_is_yuan() -> None:
    book = load_workbook(io.BytesIO(export.xlsx(_document())))
    sheet = book["by_store"]
    assert (sheet["A3"].value, sheet["A3"].data_type) == ("=1+1", "s")
    assert (sheet["B3"].value, sheet["B4"].value, sheet["C3"].value) == (1234.56, -0.5, None)
    assert book["filters"]["B2"].data_type == "s"


def test_the_pdf_holds_each_cell_as_shown_markup_and_all() -> None:
    reader = PdfReader(io.BytesIO(export.pdf(_document())))
    text = "".join(page.extract_text() for page in reader.pages)
    for shown in (
        "销售报表",
        "¥1,234.56",
        "-¥0.50",
        "12.34%",
        "—",
        "上海 <b>店</b>",
        "说明 & 定义",
    ):
        assert shown in text, shown

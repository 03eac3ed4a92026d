"""A report's document written as an Excel workbook (openpyxl) or a PDF (reportlab).

The workbook holds the figures as numbers (money in yuan with a ¥ format, ratios as
percentages), one sheet per section after a sheet of the filters. The PDF draws the title,
the filters, each section's chart (reportlab.graphics) and table, in the CID font
STSong-Light, which reportlab ships for Chinese: no font file is needed.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from memberkit.report.document import Chart, Document, Figure, cell

#: The CID font every PDF is written in: Chinese and Latin, built into reportlab.
PDF_FONT = "STSong-Light"
_PALETTE = ("#206bc4", "#2fb344", "#f59f00", "#d63939", "#ae3ec9", "#0ca678", "#4263eb")


def xlsx(document: Document) -> bytes:
    """The document as an .xlsx workbook."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "filters"
    first.append([document.title])
    first["A1"].font = Font(bold=True, size=14)
    for label, value in document.filters:
        first.append([label, value])
    for note in document.notes:
        first.append([note])
    for section in document.sections:
        sheet = book.create_sheet(section.key[:31])
        sheet.append([section.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append([column.label for column in section.columns])
        for row in section.rows:
            values: list[Any] = []
            for value, column in zip(row, section.columns, strict=True):
                values.append(_number(value, column.kind))
            sheet.append(values)
            for index, (value, column) in enumerate(zip(row, section.columns, strict=True), 1):
                kind = value.kind if isinstance(value, Figure) else column.kind
                if kind in NUMBER_FORMATS:
                    sheet.cell(row=sheet.max_row, column=index).number_format = NUMBER_FORMATS[kind]

        for index, column in enumerate(section.columns, start=1):
            letter = sheet.cell(row=2, column=index).column_letter
            sheet.column_dimensions[letter].width = max(12, len(column.label) * 2)
    for written in book.worksheets:
        for line in written.iter_rows():
            for target in line:
                if target.data_type == "f":
                    target.data_type = "s"  # a name such as "=1+1" stays text: no formulas
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


#: How the workbook shows each kind of number.
NUMBER_FORMATS = {
    "money": '"¥"#,##0.00',
    "ratio": "0.00%",
    "count": "#,##0",
    "decimal": "0.00",
}


def _number(value: Any, kind: str) -> Any:
    """A cell as Excel keeps it: yuan, ratios and decimals as Decimal, counts as int."""
    if isinstance(value, Figure):
        return _number(value.value, value.kind)
    if value is None:
        return None
    if kind == "decimal":
        return Decimal(value).quantize(Decimal("0.01"))
    if kind == "money":
        return Decimal(int(value)) / 100
    if kind == "ratio":
        return Decimal(value)
    if kind == "count":
        return int(value)
    return str(value)


def pdf(document: Document) -> bytes:
    """The document as a PDF of A4 landscape pages: title, filters, charts and tables."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    title = ParagraphStyle("title", fontName=PDF_FONT, fontSize=18, leading=24)
    heading = ParagraphStyle("heading", fontName=PDF_FONT, fontSize=13, leading=18)
    body = ParagraphStyle("body", fontName=PDF_FONT, fontSize=9, leading=13)
    out = io.BytesIO()
    page = landscape(A4)
    template = SimpleDocTemplate(
        out,
        pagesize=page,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=document.title,
    )
    width = page[0] - 24 * mm
    story: list[Any] = [Paragraph(_escape(document.title), title), Spacer(1, 4 * mm)]
    story.append(
        Paragraph(
            " · ".join(f"{_escape(label)}: {_escape(value)}" for label, value in document.filters),
            body,
        )
    )
    for note in document.notes:
        story.append(Paragraph(_escape(note), body))
    for section in document.sections:
        story.append(Spacer(1, 6 * mm))
        story.append(Paragraph(_escape(section.title), heading))
        if section.chart is not None and section.rows:
            story.append(_drawing(section.chart, width))
        cells = [[column.label for column in section.columns]] + [
            [cell(value, column.kind) for value, column in zip(row, section.columns, strict=True)]
            for row in section.rows
        ]
        table = Table(cells, repeatRows=1, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), PDF_FONT),
                    ("FONTSIZE", (0, 0), (-1, -1), 8),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#adb5bd")),
                    ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                ]
            )
        )
        story.append(table)
    template.build(story)
    return out.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(value: Any, money: bool) -> float:
    """A value as the drawing scales it (a chart's geometry, never a stored amount)."""
    if value is None:
        return 0.0
    return float(Decimal(value) / 100) if money else float(value)


def _drawing(chart: Chart, width: float) -> Any:
    """A reportlab drawing of the chart: bars, a line, a pie, or a heat map of shaded cells."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.charts.linecharts import HorizontalLineChart
    from reportlab.graphics.charts.piecharts import Pie
    from reportlab.graphics.shapes import Drawing, Rect, String
    from reportlab.lib import colors

    height = 170.0
    drawing = Drawing(width, height)
    palette = [colors.HexColor(code) for code in _PALETTE]
    if chart.kind == "heatmap":
        rows, columns = chart.rows, chart.categories
        size = min(22.0, (height - 20) / max(1, len(rows)))
        for r, (label, values) in enumerate(chart.series):
            y = height - 20 - (r + 1) * size
            drawing.add(String(0, y + size / 3, label, fontName=PDF_FONT, fontSize=7))
            for c, value in enumerate(values):
                share = 0.0 if value is None else float(value)
                fill = colors.Color(0.13, 0.42, 0.77, alpha=0.1 + 0.9 * share)
                drawing.add(Rect(60 + c * 40, y, 38, size - 2, fillColor=fill, strokeColor=None))
                text = "" if value is None else f"{share * 100:.0f}%"
                drawing.add(String(62 + c * 40, y + size / 3, text, fontName=PDF_FONT, fontSize=7))
        for c, head in enumerate(columns):
            drawing.add(String(60 + c * 40, height - 14, head, fontName=PDF_FONT, fontSize=7))
        return drawing
    if chart.kind == "pie":
        pie = Pie()
        pie.x, pie.y, pie.width, pie.height = 20, 10, 140, 140
        values = [_plain(v, chart.money) for v in chart.series[0][1]]
        pie.data = values if any(values) else [1]
        pie.labels = None
        for n in range(len(pie.data)):
            pie.slices[n].fillColor = palette[n % len(palette)]
        drawing.add(pie)
        names = chart.categories
    else:
        plot = VerticalBarChart() if chart.kind == "bar" else HorizontalLineChart()
        plot.x, plot.y = 50, 30
        plot.width, plot.height = width - 260, height - 45
        plot.data = [[_plain(v, chart.money) for v in values] for _n, values in chart.series]
        plot.categoryAxis.categoryNames = chart.categories
        plot.categoryAxis.labels.fontName = PDF_FONT
        plot.categoryAxis.labels.fontSize = 7
        plot.categoryAxis.labels.angle = 30 if len(chart.categories) > 8 else 0
        plot.valueAxis.labels.fontName = PDF_FONT
        plot.valueAxis.labels.fontSize = 7
        plot.valueAxis.valueMin = 0
        for n in range(len(chart.series)):
            if chart.kind == "bar":
                plot.bars[n].fillColor = palette[n % len(palette)]
            else:
                plot.lines[n].strokeColor = palette[n % len(palette)]
        drawing.add(plot)
        names = [name for name, _values in chart.series]
    legend = Legend()
    legend.x, legend.y = width - 190 if chart.kind != "pie" else 190, height - 20
    legend.fontName = PDF_FONT
    legend.fontSize = 8
    legend.colorNamePairs = [(palette[n % len(palette)], name) for n, name in enumerate(names)]
    drawing.add(legend)
    return drawing

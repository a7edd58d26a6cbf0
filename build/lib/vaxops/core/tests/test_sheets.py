"""Every spreadsheet VaxOps writes keeps formula-like text as text (core.xlsx)."""

import csv
import io
import re
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from vaxops.core.xlsx import csv_text, csv_writer, sheet_append, xlsx_response

HYPERLINK = '=HYPERLINK("http://x","点击")'
DDE = "=cmd|' /C calc'!A0"
RISKY = [HYPERLINK, DDE, "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1"]


def _cells(content: bytes) -> list:
    ws = load_workbook(io.BytesIO(content)).active
    return [c for row in ws.iter_rows() for c in row]


class TestXlsx:
    @pytest.mark.parametrize("value", RISKY)
    def test_it_writes_formula_like_text_as_text(self, value):
        response = xlsx_response([[value, "张三"]], ["a", "b"], "s", "f.xlsx")
        cell = _cells(response.content)[2]
        # XML keeps a carriage return as a line feed; what matters is that the cell is text.
        assert (cell.value, cell.data_type) == (value.replace("\r", "\n"), "s")
        assert cell.quotePrefix

    def test_it_keeps_numbers_dates_and_plain_text(self):
        from datetime import date

        response = xlsx_response([[-5, 2.5, date(2021, 1, 1), "王芳", "a-b"]], list("abcde"), "s", "f.xlsx")
        cells = _cells(response.content)[5:]
        assert [c.value for c in cells[:2]] == [-5, 2.5]
        assert [c.data_type for c in cells[:2]] == ["n", "n"]
        assert cells[2].value.date() == date(2021, 1, 1)
        assert [c.value for c in cells[3:]] == ["王芳", "a-b"]

    def test_it_neutralises_a_normal_worksheet_too(self):
        wb = Workbook()
        sheet_append(wb.active, [DDE, -1])
        assert wb.active["A1"].data_type == "s" and wb.active["B1"].value == -1

    def test_a_header_is_neutralised_as_well(self):
        cell = _cells(xlsx_response([], [HYPERLINK], "s", "f.xlsx").content)[0]
        assert cell.data_type == "s"


class TestCsv:
    @pytest.mark.parametrize("value", RISKY)
    def test_it_prefixes_formula_like_text_with_an_apostrophe(self, value):
        buf = io.StringIO()
        csv_writer(buf).writerow([value, -5, "王芳"])
        first = next(csv.reader(io.StringIO(buf.getvalue())))
        assert first == ["'" + value, "-5", "王芳"]

    def test_numbers_stay_numbers(self):
        assert csv_text(-5) == -5 and csv_text(-0.5) == -0.5 and csv_text("王-芳") == "王-芳"


def test_no_export_writes_cells_without_the_helper():
    """A new export must go through core.xlsx: no other module appends worksheet rows or makes a csv writer
    for people to open (the benchmarks write their own input files)."""
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if "/tests/" in rel or rel.startswith("benchmarks/") or rel.endswith("core/xlsx.py"):
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\bws\.append\(|csv\.writer\(|csv\.DictWriter\(", text):
            offenders.append(rel)
    assert offenders == []

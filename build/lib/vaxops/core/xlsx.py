"""Spreadsheet downloads (XLSX and CSV): the one place every export and error report writes its cells.

Any text that a spreadsheet could run as a formula (``core.formulas``: it begins with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) is written as text, never as a formula:

- XLSX: the cell's type is set to string (``data_type = "s"``) and it carries Excel's quote prefix, so the
  value is kept exactly as stored (a resident's name reads the same) and stays text even when someone edits
  the cell;
- CSV (no cell types): the OWASP rule, a leading apostrophe (``'=HYPERLINK(…)``), which Excel and WPS show as
  text and hide.

Only strings are neutralised; numbers (a real ``-5``), dates and booleans are written as they are.
"""

import csv
from collections.abc import Iterable
from io import BytesIO

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from .formulas import starts_like_formula

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook_response(wb: Workbook, filename: str) -> HttpResponse:
    """The workbook as a download named ``filename`` (UTF-8, so Chinese names survive)."""
    buf = BytesIO()
    wb.save(buf)
    response = HttpResponse(buf.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return response


def sheet_append(ws, row: Iterable, *, text_columns: tuple[int, ...] = ()) -> None:
    """Append ``row`` to a worksheet (write-only or not), formula-like text written as text.

    ``text_columns`` are also formatted as text (``@``), so Excel never turns a code such as a lot number into
    a number.
    """
    write_only = not hasattr(ws, "cell")
    cells = []
    for i, value in enumerate(row):
        risky = starts_like_formula(value)
        if not risky and i not in text_columns:
            cells.append(value)
            continue
        if write_only:
            cell = WriteOnlyCell(ws, value=value)
            _as_text(cell, risky=risky)
            cells.append(cell)
        else:
            cells.append(value)
    if write_only:
        ws.append(cells)
        return
    ws.append(cells)
    for i, cell in enumerate(ws[ws.max_row]):
        risky = starts_like_formula(cell.value)
        if risky or i in text_columns:
            _as_text(cell, risky=risky)


def _as_text(cell, *, risky: bool) -> None:
    cell.number_format = "@"
    if risky:
        cell.data_type = "s"
        cell.quotePrefix = True


def xlsx_response(
    rows, headers, sheet: str, filename: str, *, text_columns: tuple[int, ...] = ()
) -> HttpResponse:
    """A one-sheet workbook of ``headers`` and ``rows``; ``text_columns`` are stored as text (so Excel never
    turns a code into a number); formula-like text anywhere is stored as text."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    sheet_append(ws, headers)
    for row in rows:
        sheet_append(ws, row, text_columns=text_columns)
    return workbook_response(wb, filename)


def csv_text(value: object) -> object:
    """A CSV cell's value: formula-like text gets a leading apostrophe (OWASP); anything else unchanged."""
    return "'" + value if starts_like_formula(value) else value


class SafeCsvWriter:
    """``csv.writer`` whose every cell passes through :func:`csv_text`."""

    def __init__(self, f, **kwargs) -> None:
        self._writer = csv.writer(f, **kwargs)

    def writerow(self, row: Iterable) -> None:
        self._writer.writerow([csv_text(v) for v in row])

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(f, **kwargs) -> SafeCsvWriter:
    """A CSV writer for anything VaxOps hands to people (error files, exports): formula-like text is neutralised."""
    return SafeCsvWriter(f, **kwargs)

"""XLSX downloads: one definition of the workbook-to-response step every export and error report uses."""

from io import BytesIO

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook_response(wb: Workbook, filename: str) -> HttpResponse:
    """The workbook as a download named ``filename`` (UTF-8, so Chinese names survive)."""
    buf = BytesIO()
    wb.save(buf)
    response = HttpResponse(buf.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return response


def xlsx_response(
    rows, headers, sheet: str, filename: str, *, text_columns: tuple[int, ...] = ()
) -> HttpResponse:
    """A one-sheet workbook of ``headers`` and ``rows``; ``text_columns`` are stored as text (so Excel never
    turns a code into a number)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(headers)
    for row in rows:
        if text_columns:
            row = list(row)
            for i in text_columns:
                cell = WriteOnlyCell(ws, value=row[i])
                cell.number_format = "@"
                row[i] = cell
        ws.append(row)
    return workbook_response(wb, filename)

"""Supply's spreadsheets write formula-like text as text: the balances export and the receipt error report."""

import io

import pytest
from openpyxl import load_workbook

from vaxops.supply.models import Lot, ReceiptImportJob

from .factories import network, receive

DDE = "=cmd|' /C calc'!A0"
HYPERLINK = '=HYPERLINK("http://x","点击")'


@pytest.fixture
def planner(client, cdc):
    client.force_login(cdc)
    return client


def _rows(content: bytes):
    return list(load_workbook(io.BytesIO(content)).active.iter_rows())


def test_the_balances_export_writes_a_formula_like_lot_number_as_text(planner, county):
    store, _, _ = network(county)
    lot = receive(store, n=2)
    Lot.objects.filter(pk=lot.pk).update(lot_number=DDE)

    rows = _rows(planner.get("/supply/balances.xlsx").content)

    lot_cell = rows[1][3]
    assert (lot_cell.value, lot_cell.data_type) == (DDE, "s")
    assert rows[1][8].data_type == "n"  # the balance stays a number


def test_the_receipt_error_report_writes_formula_like_text_as_text(planner, cdc, county):
    store, _, _ = network(county)
    job = ReceiptImportJob.objects.create(
        created_by=cdc,
        place=store,
        filename="r.csv",
        status=ReceiptImportJob.Status.DONE,
        errors=[{"row": 2, "column": "批号", "message": HYPERLINK}],
    )

    rows = _rows(planner.get(f"/supply/import/{job.pk}/errors.xlsx").content)

    assert rows[1][0].value == 2 and rows[1][0].data_type == "n"
    assert (rows[1][2].value, rows[1][2].data_type) == (HYPERLINK, "s")

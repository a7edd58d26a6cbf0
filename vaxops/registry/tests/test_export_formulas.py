"""The census error report writes formula-like text as text."""

import io

from openpyxl import load_workbook

from vaxops.registry.models import ImportJob

DDE = "=cmd|' /C calc'!A0"


def test_the_error_report_writes_formula_like_text_as_text(client, cdc):
    job = ImportJob.objects.create(
        created_by=cdc,
        filename="c.csv",
        status=ImportJob.Status.DONE,
        errors=[{"row": 3, "column": "-姓名", "message": DDE}],
    )
    client.force_login(cdc)

    ws = load_workbook(io.BytesIO(client.get(f"/residents/import/{job.pk}/errors.xlsx").content)).active
    row = list(ws.iter_rows(min_row=2, max_row=2))[0]

    assert (row[0].value, row[0].data_type) == (3, "n")
    assert [(c.value, c.data_type) for c in row[3:]] == [("-姓名", "s"), (DDE, "s")]

"""The mobilisation export writes a resident's formula-like name as text."""

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from vaxops.campaign.services import status_refresh
from vaxops.conftest import make_id
from vaxops.registry.models import Resident


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x","点击")', "=cmd|' /C calc'!A0"])
def test_a_formula_like_name_comes_out_as_text(client, cdc, village_a1, name):
    r = Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(date(1980, 1, 1), seq=1),
        name=name,
        willingness_reason="@SUM(1)",
        birth_date=date(1980, 1, 1),
        village=village_a1,
        village_code=village_a1.code,
    )
    status_refresh(resident_ids=[r.pk], on=date(2021, 9, 1))
    client.force_login(cdc)

    resp = client.get("/mobilisation/export.xlsx", {"category": "not_started", "on": "2021-09-01"})

    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.content)).active
    row = list(ws.iter_rows(min_row=2, max_row=2))[0]
    assert (row[0].value, row[0].data_type) == (name, "s")
    assert (row[7].value, row[7].data_type) == ("@SUM(1)", "s")
    assert row[3].data_type == "n"  # the age stays a number

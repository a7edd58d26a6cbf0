"""/api/v1/safety: report a suspected AEFI against a dose, list and read the cases in scope, with stable codes."""

import datetime as dt
import json

from django.utils import timezone

from vaxops.accounts.services import api_token_create
from vaxops.conftest import _user
from vaxops.core.errors import CoreErrorCode
from vaxops.jurisdictions.models import Division, Level
from vaxops.safety.errors import SafetyErrorCode
from vaxops.safety.models import AdverseEventReport, HospitalCase

from .conftest import give


def _auth(user) -> dict:
    _, raw = api_token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _body(dose, **more) -> dict:
    onset = timezone.now() - dt.timedelta(minutes=5)
    body = {
        "dose": dose.pk,
        "onset_at": onset.isoformat(),
        "signs": ["发热", "皮疹"],
        "criteria": ["hospitalisation"],
        "reporter_name": "李医生",
        "reporter_unit": "甲镇卫生院",
    }
    body.update(more)
    return body


def _post(client, user, body, **headers):
    return client.post(
        "/api/v1/safety/reports", json.dumps(body), content_type="application/json", **_auth(user), **headers
    )


def test_report_by_api_is_linked_to_the_dose_and_idempotent(
    client, desk1, village_a1, vaccinator, cdc, hospitals
):
    paired, severe = hospitals
    dose = give(desk1, village_a1, vaccinator, 1, 1)
    body = _body(dose, refer=True)
    r = _post(client, cdc, body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert r.status_code == 201, r.content
    out = r.json()
    assert out["product_code"] == desk1.lot.product.code and out["lot"] == desk1.lot.lot_number
    assert out["site"] == desk1.site.name and out["serious"] and out["source"] == "county"
    assert out["signs"] == ["发热", "皮疹"] and out["hospital"] == severe.name
    assert {c["name"] for c in out["clocks"]} >= {"card", "investigation"}  # serious: investigated in 48 h
    # A retry with the same key gives the same answer and no second case.
    again = _post(client, cdc, body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again.json()["id"] == out["id"]
    assert AdverseEventReport.objects.count() == 1
    assert HospitalCase.objects.filter(report_id=out["id"]).count() == 1


def test_refusals_carry_stable_codes(client, desk1, village_a1, vaccinator, cdc, leader, hospitals):
    dose = give(desk1, village_a1, vaccinator, 1, 1)
    r = _post(client, cdc, {**_body(dose), "dose": dose.pk + 999})
    assert r.status_code == 404 and r.json()["code"] == SafetyErrorCode.DOSE_NOT_FOUND
    r = _post(client, cdc, _body(dose, signs=[]))
    assert r.status_code == 400 and r.json()["code"] == SafetyErrorCode.SIGNS_MISSING
    future = (timezone.now() + dt.timedelta(hours=3)).isoformat()
    r = _post(client, cdc, _body(dose, onset_at=future))
    assert r.status_code == 400 and r.json()["code"] == SafetyErrorCode.ONSET_INVALID
    r = _post(client, cdc, _body(dose, criteria=["sneezing"]))
    assert r.status_code == 400 and r.json()["code"] == SafetyErrorCode.CRITERION_UNKNOWN
    r = _post(client, leader, _body(dose))
    assert r.status_code == 403 and r.json()["code"] == CoreErrorCode.ROLE_FORBIDDEN
    assert not AdverseEventReport.objects.exists()


def test_cases_are_listed_and_read_in_scope_only(
    client, county, desk1, village_a1, vaccinator, cdc, leader, hospitals
):
    dose = give(desk1, village_a1, vaccinator, 1, 1)
    made = _post(client, cdc, _body(dose)).json()
    listed = client.get("/api/v1/safety/reports", **_auth(cdc)).json()
    assert [c["number"] for c in listed] == [made["number"]]
    assert "*" in listed[0]["person"]  # masked
    one = client.get(f"/api/v1/safety/reports/{made['id']}", **_auth(cdc))
    assert one.status_code == 200 and one.json()["signs"] == ["发热", "皮疹"]
    assert client.get("/api/v1/safety/reports?status=closed", **_auth(cdc)).json() == []
    # Another county's CDC sees nothing of it.
    other = Division.objects.create(
        code="330198000000", name="远县", level=Level.COUNTY, parent=county.parent
    )
    far = _user("far_cdc", "county_admin", division=other)
    assert client.get("/api/v1/safety/reports", **_auth(far)).json() == []
    r = client.get(f"/api/v1/safety/reports/{made['id']}", **_auth(far))
    assert r.status_code == 404 and r.json()["code"] == SafetyErrorCode.REPORT_NOT_FOUND
    # The leader sees counts only, never the cases.
    r = client.get("/api/v1/safety/reports", **_auth(leader))
    assert r.status_code == 403 and r.json()["code"] == CoreErrorCode.ROLE_FORBIDDEN

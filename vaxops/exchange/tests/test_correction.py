"""How staff correct a dose given here (clinic's page and API over ``clinic.services.dose_correct``): who may,
the change shown before → after, the reason required, the audit event, stable refusal codes, the
Idempotency-Key, the user's scope, and the platforms' ``correct`` message in the outbox."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from vaxops.audit.models import AuditEvent
from vaxops.clinic.models import Dose
from vaxops.conftest import _user
from vaxops.exchange.models import OutboundMessage
from vaxops.jurisdictions.models import Division, Level

from .conftest import give


def _kinds():
    return list(OutboundMessage.objects.order_by("id").values_list("kind", flat=True))


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def dose(desk1, village_a1, vaccinator, endpoint):
    (d,) = give(desk1, village_a1, vaccinator, 1)
    return d


def test_the_county_cdc_corrects_a_dose_from_the_persons_record(client, dose, cdc):
    client.force_login(cdc)
    record = client.get(reverse("clinic:resident", args=[dose.resident_id]))
    page = reverse("clinic:dose-correct", args=[dose.pk])
    assert page in record.content.decode()

    form = client.get(page)
    assert form.status_code == 200
    assert _local(dose.given_at) in form.content.decode()
    earlier = dose.given_at - dt.timedelta(minutes=40)
    data = {"given_at": _local(earlier), "injection_site": "右上臂三角肌", "reason": "接种时间录入有误"}

    preview = client.post(page, data)
    assert preview.status_code == 200
    text = preview.content.decode()
    assert 'id="preview"' in text and 'id="confirm"' in text
    before = timezone.localtime(dose.given_at).strftime("%Y-%m-%d %H:%M")
    after = timezone.localtime(earlier).strftime("%Y-%m-%d %H:%M")
    assert before in text and after in text and dose.injection_site in text
    assert "右上臂三角肌" in text
    dose.refresh_from_db()
    assert dose.injection_site != "右上臂三角肌" and _kinds() == ["create"]  # nothing changed yet

    done = client.post(page, data | {"confirm": "1"})
    assert done.status_code == 302
    assert done["Location"].endswith("?corrected=1")
    dose.refresh_from_db()
    assert dose.injection_site == "右上臂三角肌"
    assert _local(dose.given_at) == _local(earlier)
    assert _kinds() == ["create", "correct"]
    event = AuditEvent.objects.get(action="dose.correct")
    assert event.purpose == "接种时间录入有误"


def test_the_page_requires_a_reason_and_a_change(client, dose, cdc):
    client.force_login(cdc)
    page = reverse("clinic:dose-correct", args=[dose.pk])
    r = client.post(page, {"given_at": _local(dose.given_at), "injection_site": "右上臂", "reason": ""})
    assert r.status_code == 400 and 'id="preview"' not in r.content.decode()
    r = client.post(
        page,
        {"given_at": _local(dose.given_at), "injection_site": dose.injection_site, "reason": "无改动"},
    )
    assert r.status_code == 400 and "没有需要更正的内容" in r.content.decode()
    r = client.post(
        page,
        {
            "given_at": _local(dose.given_at + dt.timedelta(days=1)),
            "injection_site": dose.injection_site,
            "reason": "时间有误",
            "confirm": "1",
        },
    )
    assert r.status_code == 400 and "接种时间晚于" in r.content.decode()
    assert _kinds() == ["create"]
    assert not AuditEvent.objects.filter(action="dose.correct").exists()


def test_only_the_roles_allowed_to_correct_see_the_page(client, dose, vaccinator, worker_a):
    for user in (vaccinator, worker_a):
        client.force_login(user)
        record = client.get(reverse("clinic:resident", args=[dose.resident_id]))
        assert reverse("clinic:dose-correct", args=[dose.pk]) not in record.content.decode()
        assert client.get(reverse("clinic:dose-correct", args=[dose.pk])).status_code == 403


def test_a_voided_dose_is_not_corrected_on_the_page(client, dose, cdc):
    Dose.objects.filter(pk=dose.pk).update(voided_at=dose.recorded_at, void_reason="录入错误")
    client.force_login(cdc)
    assert client.get(reverse("clinic:dose-correct", args=[dose.pk])).status_code == 400


def _api(client, dose_id, body, **headers):
    return client.post(
        f"/api/v1/clinic/doses/{dose_id}/correct", body, content_type="application/json", **headers
    )


def test_the_api_corrects_once_per_idempotency_key(client, dose, cdc):
    client.force_login(cdc)
    earlier = dose.given_at - dt.timedelta(minutes=30)
    body = {"reason": "接种时间录入有误", "given_at": earlier.isoformat()}
    r = _api(client, dose.pk, body, HTTP_IDEMPOTENCY_KEY="fix-1")
    assert r.status_code == 200, r.content
    assert r.json()["id"] == dose.pk
    assert dt.datetime.fromisoformat(r.json()["given_at"]) == earlier
    again = _api(client, dose.pk, body, HTTP_IDEMPOTENCY_KEY="fix-1")
    assert (again.status_code, again.json()) == (200, r.json())
    assert _kinds() == ["create", "correct"]
    assert AuditEvent.objects.filter(action="dose.correct").count() == 1
    other = _api(client, dose.pk, body | {"reason": "另一原因"}, HTTP_IDEMPOTENCY_KEY="fix-1")
    assert (other.status_code, other.json()["code"]) == (400, "idempotency_key_reused")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"reason": "", "injection_site": "右上臂"}, 400, "reason_required"),
        ({"reason": "部位有误"}, 400, "dose_correction_empty"),
        ({"reason": "时间有误", "given_at": "2999-01-01T09:00:00+08:00"}, 400, "dose_in_future"),
    ],
)
def test_the_api_refuses_with_stable_codes(client, dose, cdc, body, status, code):
    client.force_login(cdc)
    r = _api(client, dose.pk, body)
    assert (r.status_code, r.json()["code"]) == (status, code)
    assert _kinds() == ["create"]


def test_the_api_is_for_the_county_cdc_within_its_scope(client, dose, vaccinator, county):
    client.force_login(vaccinator)
    r = _api(client, dose.pk, {"reason": "部位有误", "injection_site": "右上臂"})
    assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")
    other = Division.objects.create(
        code="330299000000", name="外县", level=Level.COUNTY, parent=county.parent
    )
    client.force_login(_user("cdc2", "county_admin", division=other))
    r = _api(client, dose.pk, {"reason": "部位有误", "injection_site": "右上臂"})
    assert (r.status_code, r.json()["code"]) == (404, "dose_not_found")
    r = _api(client, 10**9, {"reason": "部位有误", "injection_site": "右上臂"})
    assert (r.status_code, r.json()["code"]) == (404, "dose_not_found")
    assert client.get(reverse("clinic:dose-correct", args=[dose.pk])).status_code == 404
    assert _kinds() == ["create"]


def test_a_time_without_its_offset_is_beijing_time(client, dose, cdc):
    client.force_login(cdc)
    earlier = timezone.localtime(dose.given_at - dt.timedelta(minutes=20)).replace(second=0, microsecond=0)
    r = _api(client, dose.pk, {"reason": "时间有误", "given_at": earlier.strftime("%Y-%m-%dT%H:%M:%S")})
    assert r.status_code == 200, r.content
    dose.refresh_from_db()
    assert dose.given_at == earlier

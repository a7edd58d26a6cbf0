"""/api/v1/desk through HTTP with API tokens: the registration desk's check-in and walk-in, informed
consent, the scan with its hard stops, recording a dose (a retry with the same client_id returns the first
dose; a used code is refused), the observation area, voiding with the vial's disposition, the person's
record, who may do what, and the OpenAPI document."""

import datetime as dt
import json
import uuid

import pytest

from vaxops.accounts.services import api_token_create, user_create
from vaxops.booking import services as booking
from vaxops.booking.models import Appointment, AppointmentStatus
from vaxops.clinic.models import Consent, Dose, Observation, ReactionNote
from vaxops.conftest import PASSWORD, make_id
from vaxops.core.actors import SystemActor
from vaxops.jurisdictions.models import Division
from vaxops.registry.models import Resident
from vaxops.supply import selectors as supply_selectors
from vaxops.supply.models import CodeState, StockBalance, TraceCode

from .desk_setup import SIGNATURE, code, open_site, ready_person, ten_in_the_morning

DESK = "/api/v1/desk"


def token(user) -> dict:
    _, raw = api_token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post(client, auth, path, data=None, **headers):
    return client.post(path, json.dumps(data or {}), content_type="application/json", **auth, **headers)


def _township_user(username: str, role: str):
    return user_create(
        username=username, password=PASSWORD, role=role, division=Division.objects.get(code="330199001000")
    )


@pytest.fixture
def desk1(county, village_a1, vaccinator, monkeypatch):
    ten_in_the_morning(monkeypatch)
    return open_site(county, village_a1, vaccinator)


@pytest.fixture
def as_vaccinator(vaccinator):
    return token(vaccinator)


def _dose_body(person, serial=1, **kw) -> dict:
    return {
        "client_id": uuid.uuid4().hex,
        "resident_id": person.pk,
        "code": code(serial),
        "phone_last4": "5678",
    } | kw


def test_the_registration_desk_checks_in_by_id_card_and_registers_a_walk_in(
    client, desk1, village_a1, village_b1
):
    auth = token(_township_user("registrar", "site_registration"))
    born = dt.date(1975, 1, 1)
    booked, walker = [
        Resident.objects.create(
            id_type="resident_id",
            id_number=make_id(born, i),
            name=n,
            village=village_a1,
            village_code=village_a1.code,
            birth_date=born,
            phone="13900001111",
        )
        for i, n in ((1, "张三丰"), (2, "李四"))
    ]
    slot = desk1.session.slots.order_by("-start").first()
    a = booking.appointment_book(actor=SystemActor("t"), resident=booked, slot=slot, channel="community")

    r = post(client, auth, f"{DESK}/sessions/{desk1.session.pk}/check-in", {"scan": booked.id_number})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["message"] == "已签到" and body["appointment"]["id"] == a.pk
    assert body["appointment"]["status"] == "checked_in"
    assert body["resident"] == {"id": booked.pk, "name": "张*丰", "id_masked": booked.id_number_masked}
    assert booked.id_number not in r.content.decode()

    r = post(client, auth, f"{DESK}/sessions/{desk1.session.pk}/check-in", {"scan": walker.id_number})
    assert r.status_code == 200 and r.json()["appointment"] is None and "现场号" in r.json()["message"]
    r = post(client, auth, f"{DESK}/sessions/{desk1.session.pk}/walk-in", {"resident_id": walker.pk})
    assert r.status_code == 201, r.content
    assert r.json()["appointment"]["walk_in"] and r.json()["appointment"]["status"] == "checked_in"
    assert Appointment.objects.get(resident=walker).status == AppointmentStatus.CHECKED_IN

    # Someone from another township: only once the desk has found them by their ID card.
    visitor = Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(born, 3),
        name="外乡人",
        village=village_b1,
        village_code=village_b1.code,
        birth_date=born,
    )
    r = post(client, auth, f"{DESK}/sessions/{desk1.session.pk}/walk-in", {"resident_id": visitor.pk})
    assert r.status_code == 404 and r.json()["code"] == "resident_not_found"
    # A find of yesterday does not count: a find expires with its day.
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from vaxops.desk.models import DeskFind

    DeskFind.objects.create(
        user=get_user_model().objects.get(username="registrar"),
        resident=visitor,
        session=desk1.session,
        at=timezone.now() - dt.timedelta(days=1),
        on=timezone.localdate() - dt.timedelta(days=1),
    )
    r = post(client, auth, f"{DESK}/sessions/{desk1.session.pk}/walk-in", {"resident_id": visitor.pk})
    assert r.status_code == 404 and r.json()["code"] == "resident_not_found"
    post(client, auth, f"{DESK}/sessions/{desk1.session.pk}/check-in", {"scan": visitor.id_number})
    assert DeskFind.objects.filter(resident=visitor, on=timezone.localdate()).count() == 1
    r = post(client, auth, f"{DESK}/sessions/{desk1.session.pk}/walk-in", {"resident_id": visitor.pk})
    assert r.status_code == 201 and r.json()["resident"]["name"] == "外*人"

    r = post(client, auth, f"{DESK}/sessions/{desk1.session.pk}/check-in", {"scan": ""})
    assert r.status_code == 400 and r.json()["code"] == "scan_empty"
    # A vaccinator does not run the registration desk.
    r = post(
        client,
        token(desk1.session.assignments.get(role="vaccination").staff.user),
        f"{DESK}/sessions/{desk1.session.pk}/check-in",
        {"scan": walker.id_number},
    )
    assert r.status_code == 403 and r.json()["message"] == "您的角色无权执行此操作"


def test_consent_is_signed_on_the_tablet_or_its_refusal_recorded(client, desk1, village_a1, screener):
    auth = token(screener)
    person = ready_person(desk1, village_a1, 1, consent=False)
    product = desk1.lot.product.code

    r = client.get(f"{DESK}/consent-texts/{product}", **auth)
    assert r.status_code == 200 and "知情同意书" in r.json()["title"] and r.json()["version"] == "2021.1"
    assert client.get(f"{DESK}/consent-texts/NOPE", **auth).status_code == 404

    r = post(
        client,
        auth,
        f"{DESK}/consents",
        {
            "resident_id": person.pk,
            "product_code": product,
            "signer_name": "王小明",
            "signature": "data:image/png;base64,xx",
        },
    )
    assert r.status_code == 400 and r.json()["message"] == "请在平板上签名"
    r = post(
        client,
        auth,
        f"{DESK}/consents",
        {"resident_id": person.pk, "product_code": product, "signer_name": "王小明", "refused": True},
    )
    assert r.status_code == 400 and r.json()["message"] == "拒绝签署须记录原因"
    r = post(
        client,
        auth,
        f"{DESK}/consents",
        {"resident_id": person.pk, "product_code": product, "signer_name": "王小明", "signature": SIGNATURE},
    )
    assert r.status_code == 201, r.content
    assert r.json()["version"] == "2021.1" and not r.json()["refused"]
    assert Consent.objects.get(resident=person).signature == SIGNATURE


def test_the_scan_reports_each_hard_stop_with_its_code_and_writes_nothing(
    client, desk1, village_a1, as_vaccinator
):
    unscreened = ready_person(desk1, village_a1, 1, screened=False)
    r = post(client, as_vaccinator, f"{DESK}/doses/check", {"resident_id": unscreened.pk, "code": code(1)})
    assert r.status_code == 200, r.content
    body = r.json()
    assert not body["ok"] and body["confirmation"] is None
    assert body["failures"] == [{"code": "screening", "message": "今日尚未预检，请先到预检台预检"}]

    person = ready_person(desk1, village_a1, 2, name="李大")
    r = post(
        client,
        as_vaccinator,
        f"{DESK}/doses/check",
        {"resident_id": person.pk, "code": code(1), "injection_site": "左上臂三角肌"},
    )
    assert r.json()["ok"] and r.json()["confirmation"]["name"] == "李大"
    assert r.json()["confirmation"]["injection_site"] == "左上臂三角肌"
    assert not Dose.objects.exists()

    assert post(client, as_vaccinator, f"{DESK}/doses", _dose_body(person)).status_code == 201
    other = ready_person(desk1, village_a1, 3, name="赵二")
    r = post(client, as_vaccinator, f"{DESK}/doses/check", {"resident_id": other.pk, "code": code(1)})
    [failure] = r.json()["failures"]
    assert failure["code"] == "code_used" and "已使用" in failure["message"]

    r = post(client, as_vaccinator, f"{DESK}/doses/check", {"resident_id": other.pk, "code": "12345"})
    assert r.json()["failures"][0]["code"] == "code_malformed"


def test_a_dose_is_recorded_once_and_a_retry_returns_it(client, desk1, village_a1, vaccinator, as_vaccinator):
    person = ready_person(desk1, village_a1, 1)
    body = _dose_body(person, injection_site="右上臂三角肌")

    r = post(client, as_vaccinator, f"{DESK}/doses", body)
    assert r.status_code == 201, r.content
    first = r.json()
    dose = Dose.objects.get()
    assert first["id"] == dose.pk and first["resident_id"] == person.pk and first["code"] == code(1)
    assert (first["lot"], first["dose_number"], first["site"]) == (desk1.lot.lot_number, 1, "S1")
    assert first["vaccinator"] == dose.vaccinator.name and first["injection_site"] == "右上臂三角肌"
    assert first["desk"] == "接种台1" and first["observation_id"] == Observation.objects.get(dose=dose).pk
    assert TraceCode.objects.get(code=code(1)).state == CodeState.ADMINISTERED
    assert StockBalance.objects.get(place=desk1.place, lot=desk1.lot).doses == 9

    again = post(client, as_vaccinator, f"{DESK}/doses", body)
    assert again.status_code == 201 and again.json() == first
    # The hot path answers without ninja's validation of the answer: byte for byte what ninja renders from the
    # schema (the path with an Idempotency-Key goes through it).
    ninja_rendered = post(client, as_vaccinator, f"{DESK}/doses", body, HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    assert ninja_rendered.status_code == 201
    assert ninja_rendered.content == r.content == again.content
    assert ninja_rendered["Content-Type"] == r["Content-Type"] == "application/json; charset=utf-8"
    assert Dose.objects.count() == 1 and StockBalance.objects.get(place=desk1.place, lot=desk1.lot).doses == 9

    r = post(client, as_vaccinator, f"{DESK}/doses", {**body, "code": code(2)})
    assert r.status_code == 400 and "另一条接种记录" in r.json()["message"]

    other = ready_person(desk1, village_a1, 2, name="李大")
    r = post(client, as_vaccinator, f"{DESK}/doses", _dose_body(other))
    assert r.status_code == 400
    assert r.json()["code"] == "code_used" and "已使用" in r.json()["message"] and r.json()["field"] == "code"
    assert Dose.objects.count() == 1
    assert supply_selectors.ledger_check()["balanced"]


def test_a_refused_dose_names_every_failure_and_the_first_code(client, desk1, village_a1, as_vaccinator):
    person = ready_person(desk1, village_a1, 1, screened=False, consent=False)
    r = post(client, as_vaccinator, f"{DESK}/doses", _dose_body(person))
    assert r.status_code == 400
    assert r.json()["code"] == "screening"
    assert "今日尚未预检" in r.json()["message"] and "未签署知情同意书" in r.json()["message"]
    ok = ready_person(desk1, village_a1, 2, name="李大")
    r = post(client, as_vaccinator, f"{DESK}/doses", _dose_body(ok, phone_last4="0000"))
    assert r.status_code == 400 and r.json()["message"] == "手机号码后4位与档案不符，请再次核对受种者身份"
    r = post(
        client, as_vaccinator, f"{DESK}/doses", {"resident_id": ok.pk, "code": code(1), "phone_last4": "5678"}
    )
    assert r.status_code == 422 and r.json()["field"] == "client_id"
    assert not Dose.objects.exists()


def test_the_idempotency_key_header_is_honoured_too(client, desk1, village_a1, as_vaccinator):
    person = ready_person(desk1, village_a1, 1)
    body = _dose_body(person)
    first = post(client, as_vaccinator, f"{DESK}/doses", body, HTTP_IDEMPOTENCY_KEY="k-1")
    again = post(client, as_vaccinator, f"{DESK}/doses", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert Dose.objects.count() == 1


def test_only_the_assigned_vaccinator_records_doses(client, desk1, village_a1, worker_a):
    person = ready_person(desk1, village_a1, 1)
    r = post(client, token(worker_a), f"{DESK}/doses", _dose_body(person))
    assert r.status_code == 403 and r.json()["message"] == "您的角色无权执行此操作"
    stranger = _township_user("vaccinator2", "site_vaccinator")
    r = post(client, token(stranger), f"{DESK}/doses", _dose_body(person))
    assert r.status_code == 403 and r.json()["message"] == "您的账号未登记为接种单位工作人员"
    r = post(client, token(stranger), f"{DESK}/doses/check", {"resident_id": person.pk, "code": code(1)})
    assert r.status_code == 403
    from vaxops.sites.models import StaffMember

    StaffMember.objects.create(site=desk1.site, name="未排班员", roles=["vaccination"], user=stranger)
    r = post(client, token(stranger), f"{DESK}/doses", _dose_body(person))
    assert r.status_code == 400 and r.json()["message"] == "接种人员未排班员今天未排班在接种台，请先排班"
    assert not Dose.objects.exists()


def test_the_observation_area_lists_people_and_releases_them(
    client, desk1, village_a1, as_vaccinator, monkeypatch
):
    from django.utils import timezone

    nurse = token(_township_user("nurse", "site_observation"))
    person = ready_person(desk1, village_a1, 1, name="王小明")
    dose_id = post(client, as_vaccinator, f"{DESK}/doses", _dose_body(person)).json()["id"]
    obs = Observation.objects.get(dose_id=dose_id)

    r = client.get(f"{DESK}/sites/S1/observation", **nurse)
    assert r.status_code == 200, r.content
    [row] = r.json()
    assert (row["observation_id"], row["name"], row["minutes_left"], row["status"]) == (
        obs.pk,
        "王*明",
        30,
        "observing",
    )
    assert client.get(f"{DESK}/sites/NOPE/observation", **nurse).status_code == 404

    r = post(client, nurse, f"{DESK}/observations/{obs.pk}/release")
    assert r.status_code == 400 and "还需30分钟" in r.json()["message"] and r.json()["field"] == "reason"
    r = post(
        client,
        nurse,
        f"{DESK}/observations/{obs.pk}/reactions",
        {"severity": "moderate", "description": "胸闷，送定点医院", "transferred": True},
    )
    assert r.status_code == 201 and r.json()["severity_label"] == "较重"
    assert ReactionNote.objects.filter(observation=obs, transferred=True).exists()
    assert client.get(f"{DESK}/sites/S1/observation", **nurse).json()[0]["reactions"] == 1
    r = post(client, nurse, f"{DESK}/observations/{obs.pk}/release", {"reason": "异常反应转诊"})
    assert r.status_code == 200 and "转诊" in r.json()["release_note"] and r.json()["released_at"]
    assert client.get(f"{DESK}/sites/S1/observation", **nurse).json() == []
    r = post(client, nurse, f"{DESK}/observations/{obs.pk}/release", {"reason": "再次"})
    assert r.status_code == 400 and r.json()["message"] == "该受种者已离开留观区"

    # After the 30 minutes, no reason is needed; a vaccinator may look but not release.
    second = ready_person(desk1, village_a1, 2, name="李大")
    later = post(client, as_vaccinator, f"{DESK}/doses", _dose_body(second, serial=2)).json()["id"]
    o2 = Observation.objects.get(dose_id=later)
    fixed = timezone.now() + dt.timedelta(minutes=30)
    monkeypatch.setattr(timezone, "now", lambda: fixed)
    assert client.get(f"{DESK}/sites/S1/observation", **as_vaccinator).json()[0]["status"] == "due"
    assert post(client, as_vaccinator, f"{DESK}/observations/{o2.pk}/release").status_code == 403
    assert post(client, nurse, f"{DESK}/observations/{o2.pk}/release").status_code == 200


def test_a_void_returns_the_code_to_stock_and_only_the_cdc_may(client, desk1, village_a1, cdc, as_vaccinator):
    person = ready_person(desk1, village_a1, 1)
    dose_id = post(client, as_vaccinator, f"{DESK}/doses", _dose_body(person)).json()["id"]
    as_cdc = token(cdc)

    r = post(
        client,
        as_vaccinator,
        f"{DESK}/doses/{dose_id}/void",
        {"reason": "登记错人", "disposition": "returned"},
    )
    assert r.status_code == 403 and r.json()["message"] == "您的角色无权作废接种记录"
    r = post(client, as_cdc, f"{DESK}/doses/{dose_id}/void", {"reason": "登记错人"})
    assert r.status_code == 400 and "疫苗去向" in r.json()["message"]
    r = post(client, as_cdc, f"{DESK}/doses/{dose_id}/void", {"reason": "登记错人", "disposition": "opened"})
    assert r.status_code == 422 and r.json()["field"] == "disposition"
    r = post(
        client, as_cdc, f"{DESK}/doses/{dose_id}/void", {"reason": "登记错人", "disposition": "returned"}
    )
    assert r.status_code == 200, r.content
    assert (
        r.json()["code_state"] == "in_stock"
        and r.json()["void_reason"] == "登记错人"
        and r.json()["voided_at"]
    )
    assert TraceCode.objects.get(code=code(1)).state == CodeState.IN_STOCK
    assert StockBalance.objects.get(place=desk1.place, lot=desk1.lot).doses == 10
    assert supply_selectors.ledger_check()["balanced"]
    r = post(
        client, as_cdc, f"{DESK}/doses/{dose_id}/void", {"reason": "登记错人", "disposition": "returned"}
    )
    assert r.status_code == 400 and r.json()["message"] == "该接种记录已作废"


def test_the_record_shows_the_history_with_a_masked_id_and_the_private_link(
    client, desk1, village_a1, cdc, as_vaccinator, worker_b
):
    from vaxops.clinic import services

    person = ready_person(desk1, village_a1, 1)
    services.dose_record_external(
        actor=cdc, resident_id=person.pk, product="BBIBP-CorV", given_on="2021-03-01", place="杭州市某接种点"
    )
    dose_id = post(client, as_vaccinator, f"{DESK}/doses", _dose_body(person)).json()["id"]

    r = client.get(f"{DESK}/doses/{dose_id}/record", **as_vaccinator)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["dose"]["id"] == dose_id and body["resident"]["id_masked"] == person.id_number_masked
    assert person.id_number not in r.content.decode()
    assert [h["external"] for h in body["history"]] == [True, False]
    # a vaccinator does not hand links over: none shown, and reading creates none
    assert body["record_url"] is None and not services.record_link_active(resident_id=person.pk)
    as_cdc = token(cdc)
    made = post(client, as_cdc, f"{DESK}/doses/{dose_id}/record-link", {})
    assert made.status_code == 201, made.content
    url = client.get(f"{DESK}/doses/{dose_id}/record", **as_cdc).json()["record_url"]
    assert url == made.json()["url"] and url.startswith("/r/") and url.endswith("/")
    assert services.record_link_from_token(url[3:-1]).resident == person
    assert client.get(f"{DESK}/doses/{dose_id}/record", **token(worker_b)).status_code == 404


def test_the_openapi_document_lists_the_desk_in_chinese(client):
    spec = client.get("/api/v1/openapi.json").json()
    paths = spec["paths"]
    wanted = {
        ("post", "/api/v1/desk/sessions/{session_id}/check-in"),
        ("post", "/api/v1/desk/sessions/{session_id}/walk-in"),
        ("post", "/api/v1/desk/consents"),
        ("get", "/api/v1/desk/consent-texts/{product_code}"),
        ("post", "/api/v1/desk/doses/check"),
        ("post", "/api/v1/desk/doses"),
        ("get", "/api/v1/desk/sites/{site_code}/observation"),
        ("post", "/api/v1/desk/observations/{observation_id}/release"),
        ("post", "/api/v1/desk/observations/{observation_id}/reactions"),
        ("post", "/api/v1/desk/doses/{dose_id}/void"),
        ("get", "/api/v1/desk/doses/{dose_id}/record"),
    }
    for method, path in wanted:
        op = paths[path][method]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in op["summary"]), path
        assert any("\u4e00" <= ch <= "\u9fff" for ch in op["description"]), path
    assert "client_id" in spec["components"]["schemas"]["DeskDoseIn"]["properties"]

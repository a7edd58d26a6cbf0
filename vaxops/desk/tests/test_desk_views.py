"""The vaccination desk's tablet screens through the Django client: 登记, 预检, 知情同意, 接种, 留观, the
printable record, the person's private record link and a void; each desk's staff at their own site only."""

import datetime as dt
import re
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from vaxops.booking import services as booking
from vaxops.booking.models import Appointment, AppointmentStatus
from vaxops.booking.selfservice import appointment_qr_text
from vaxops.clinic import services as clinic_services
from vaxops.clinic.models import Consent, ConsentText, Dose, Observation, ReactionNote, ScreeningRecord
from vaxops.conftest import PASSWORD, make_id
from vaxops.core.actors import SystemActor
from vaxops.desk import services as desk_services
from vaxops.registry.models import Resident
from vaxops.sites.models import Session, Site, StaffMember
from vaxops.supply.models import CodeState, StockBalance, TraceCode

from .desk_setup import SIGNATURE, code, open_site, ready_person, ten_in_the_morning

ANSWERS = {
    "q_allergy_vaccine_severe": "no",
    "q_allergy_component": "no",
    "q_covid_dose_severe_reaction": "no",
    "q_neurological": "no",
    "q_acute_illness": "no",
    "q_chronic_uncontrolled": "no",
    "q_pregnancy": "no",
    "q_lactation": "no",
    "q_other_vaccine_date": "",
    "q_remarks": "",
}


def _site_user(username: str, role: str, site: Site, staff_name: str):
    from vaxops.accounts.services import user_create

    user = user_create(username=username, password=PASSWORD, role=role, division=site.division)
    StaffMember.objects.filter(site=site, name=staff_name).update(user=user)
    return user


@pytest.fixture
def now(monkeypatch):
    return ten_in_the_morning(monkeypatch)


@pytest.fixture
def desk1(county, village_a1, vaccinator, now):
    return open_site(county, village_a1, vaccinator)


@pytest.fixture
def registrar(desk1):
    return _site_user("registrar", "site_registration", desk1.site, "registration员")


@pytest.fixture
def screener_at_site(desk1):
    return _site_user("screener1", "site_screening", desk1.site, "screening员")


@pytest.fixture
def nurse(desk1):
    return _site_user("nurse", "site_observation", desk1.site, "observation员")


def _as(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _resident(village, seq: int, name: str = "李四", phone: str = "13900001111") -> Resident:
    return Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(dt.date(1975, 3, 3), seq),
        name=name,
        village=village,
        village_code=village.code,
        birth_date=dt.date(1975, 3, 3),
        phone=phone,
    )


def _book(desk1, person) -> Appointment:
    slot = desk1.session.slots.order_by("-start").first()
    return booking.appointment_book(actor=SystemActor("t"), resident=person, slot=slot, channel="community")


def _url(desk1, screen: str) -> str:
    return f"/desk/{desk1.session.pk}/{screen}/"


def _give(vaccinator, person, serial: int = 1) -> Dose:
    return desk_services.dose_administer(
        actor=vaccinator,
        resident_id=person.pk,
        code=code(serial),
        client_id=uuid.uuid4().hex,
        phone_last4="5678",
    )


# ------------------------------------------------------------------------------------- pages and access


def test_the_desk_home_offers_the_users_screens_with_their_own_desk_marked(client, desk1, vaccinator, cdc):
    client.force_login(vaccinator)
    html = client.get("/desk/").content.decode()
    assert f'href="/desk/{desk1.session.pk}/vaccinate/"' in html and "我的岗位" in html
    assert f'href="/desk/{desk1.session.pk}/checkin/"' not in html  # the vaccinator's role does not register
    assert 'href="/desk/"' in html  # the nav link 接种台
    county = _as(cdc).get("/desk/").content.decode()
    assert (
        f"/desk/{desk1.session.pk}/checkin/" in county and f"/desk/{desk1.session.pk}/observation/" in county
    )


def test_every_screen_renders_for_its_desk(desk1, village_a1, vaccinator, registrar, screener_at_site, nurse):
    person = ready_person(desk1, village_a1, 1)
    dose = _give(vaccinator, ready_person(desk1, village_a1, 2, name="李大"), serial=2)
    pages = [
        (registrar, _url(desk1, "checkin")),
        (screener_at_site, _url(desk1, "screening")),
        (screener_at_site, _url(desk1, "screening") + f"?resident={person.pk}"),
        (screener_at_site, f"/desk/{desk1.session.pk}/consent/{person.pk}/"),
        (vaccinator, _url(desk1, "vaccinate")),
        (vaccinator, _url(desk1, "vaccinate") + f"?resident={person.pk}"),
        (vaccinator, f"/desk/{desk1.session.pk}/vaccinate/done/{dose.pk}/"),
        (nurse, _url(desk1, "observation")),
        (vaccinator, f"/desk/doses/{dose.pk}/record/"),
    ]
    for user, url in pages:
        r = _as(user).get(url)
        assert r.status_code == 200, (url, r.status_code)
        html = r.content.decode()
        assert person.id_number not in html and dose.resident.id_number not in html


def test_the_screens_speak_english_on_request(desk1, village_a1, vaccinator):
    person = ready_person(desk1, village_a1, 1)
    c = _as(vaccinator)
    c.cookies["django_language"] = "en"
    html = _check(c, desk1, person).content.decode()
    assert "Confirm the dose" in html and "Injection site" in html and "确认接种" not in html


def test_a_desk_of_another_site_or_a_screen_of_another_role_is_refused(
    desk1, registrar, vaccinator, cdc, worker_a, village_a1
):
    other = Site.objects.create(code="S2", name="乙镇卫生院接种门诊", division=village_a1.parent)
    other_session = Session.objects.create(site=other, day=timezone.localdate(), desks=1)
    assert _as(registrar).get(f"/desk/{other_session.pk}/checkin/").status_code == 403
    assert _as(vaccinator).get(f"/desk/{other_session.pk}/vaccinate/").status_code == 403
    assert _as(worker_a).get(_url(desk1, "checkin")).status_code == 403
    assert _as(worker_a).get("/desk/").status_code == 403
    assert _as(vaccinator).get(_url(desk1, "checkin")).status_code == 403  # not the registration role
    assert _as(registrar).get(_url(desk1, "vaccinate")).status_code == 403
    assert _as(cdc).get(f"/desk/{other_session.pk}/checkin/").status_code == 200  # the county CDC: any site
    assert Client().get(_url(desk1, "checkin")).status_code == 302  # to the login page


# -------------------------------------------------------------------------------------------- 登记


def test_check_in_by_id_card_shows_the_person_with_their_masked_id_and_forecast(desk1, village_a1, registrar):
    person = _resident(village_a1, 1, name="李四")
    a = _book(desk1, person)
    c = _as(registrar)

    r = c.post(_url(desk1, "checkin"), {"scan": person.id_number})
    assert r.status_code == 302
    html = c.get(_url(desk1, "checkin")).content.decode()

    assert Appointment.objects.get(pk=a.pk).status == AppointmentStatus.CHECKED_IN
    assert 'id="checkin-message"' in html and "已签到" in html
    # The registrar is on today's roster: the full name (to call the person), the ID number masked.
    assert "李四" in html and "第1剂" in html and person.id_number_masked in html
    assert person.id_number not in html
    assert f'id="checked-in-{person.pk}"' in html
    assert "autofocus" in html  # the scan box is ready for the next card


def test_check_in_shows_a_standing_deferral(desk1, village_a1, registrar):
    from vaxops.clinic.models import Deferral

    person = _resident(village_a1, 4)
    _book(desk1, person)
    Deferral.objects.create(
        resident=person, until=timezone.localdate() + dt.timedelta(days=3), reason="近期发热"
    )
    c = _as(registrar)

    c.post(_url(desk1, "checkin"), {"scan": person.id_number})
    html = c.get(_url(desk1, "checkin")).content.decode()

    assert 'class="msg warning deferral"' in html and "近期发热" in html
    assert (timezone.localdate() + dt.timedelta(days=3)).isoformat() in html


def test_check_in_by_appointment_qr(desk1, village_a1, registrar):
    person = _resident(village_a1, 2)
    a = _book(desk1, person)
    c = _as(registrar)

    c.post(_url(desk1, "checkin"), {"scan": appointment_qr_text(a)})

    assert Appointment.objects.get(pk=a.pk).status == AppointmentStatus.CHECKED_IN
    assert "已签到" in c.get(_url(desk1, "checkin")).content.decode()


def test_a_bad_scan_is_explained_in_the_page(desk1, registrar):
    c = _as(registrar)
    c.post(_url(desk1, "checkin"), {"scan": "123456"})
    r = c.get(_url(desk1, "checkin"))
    assert r.status_code == 400 and 'id="checkin-error"' in r.content.decode()


def test_a_person_without_an_appointment_is_registered_as_a_walk_in(desk1, village_a1, registrar):
    person = _resident(village_a1, 3)
    c = _as(registrar)

    c.post(_url(desk1, "checkin"), {"scan": person.id_number})
    html = c.get(_url(desk1, "checkin")).content.decode()
    assert "现场号登记" in html and 'id="walk-in-form"' in html
    ticket = re.search(r'name="ticket" value="([^"]+)"', html).group(1)

    forged = c.post(f"/desk/{desk1.session.pk}/checkin/walk-in/", {"ticket": ticket[:-2] + "xx"})
    assert forged.status_code == 302 and not Appointment.objects.filter(resident=person).exists()
    assert "凭据无效" in c.get(_url(desk1, "checkin")).content.decode()

    r = c.post(f"/desk/{desk1.session.pk}/checkin/walk-in/", {"ticket": ticket})
    assert r.status_code == 302
    a = Appointment.objects.get(resident=person)
    assert a.walk_in and a.status == AppointmentStatus.CHECKED_IN
    assert "已现场登记并签到" in c.get(_url(desk1, "checkin")).content.decode()


# ----------------------------------------------------------------------------------- 预检 and 知情同意


def test_screening_from_the_queue_shows_the_outcome_with_the_screener(desk1, village_a1, screener_at_site):
    person = ready_person(desk1, village_a1, 1, screened=False, consent=False)
    c = _as(screener_at_site)
    assert f'id="queue-{person.pk}"' in c.get(_url(desk1, "screening")).content.decode()

    r = c.post(
        _url(desk1, "screening"),
        {
            "resident": person.pk,
            **ANSWERS,
            "temperature_c": "36.6",
            "bp_systolic": "120",
            "bp_diastolic": "80",
        },
    )
    assert r.status_code == 302
    html = c.get(r["Location"]).content.decode()
    record = ScreeningRecord.objects.get(resident=person)
    assert record.outcome == "proceed" and record.screener == screener_at_site
    assert 'id="outcome"' in html and "可以接种" in html and "screener1" in html
    assert 'id="to-consent"' in html

    hot = c.post(_url(desk1, "screening"), {"resident": person.pk, **ANSWERS, "temperature_c": "38.2"})
    assert "暂缓接种" in c.get(hot["Location"]).content.decode()


def test_screening_refusals_stay_in_the_page(desk1, village_a1, screener_at_site, vaccinator):
    person = ready_person(desk1, village_a1, 1, screened=False, consent=False)
    r = _as(screener_at_site).post(_url(desk1, "screening"), {"resident": person.pk, "temperature_c": "36.6"})
    assert r.status_code == 400 and not ScreeningRecord.objects.exists()
    stranger = _resident(village_a1, 9)
    assert _as(screener_at_site).get(_url(desk1, "screening") + f"?resident={stranger.pk}").status_code == 404


def test_consent_is_signed_on_the_tablet_with_the_full_text_shown(desk1, village_a1, screener_at_site):
    person = ready_person(desk1, village_a1, 1, consent=False)
    c = _as(screener_at_site)
    url = f"/desk/{desk1.session.pk}/consent/{person.pk}/"
    text = ConsentText.objects.filter(product_code=desk1.lot.product.code).order_by("-effective_from").first()

    html = c.get(url).content.decode()
    assert text.title in html and "四、本人已阅读并理解以上内容，如实提供了健康状况，自愿接种本疫苗。" in html
    assert '<canvas class="sig"' in html and 'name="signature"' in html

    unsigned = c.post(
        url, {"product": desk1.lot.product.code, "signer_name": "王小明", "signer_relation": "本人"}
    )
    assert unsigned.status_code == 400 and "请在平板上签名" in unsigned.content.decode()

    r = c.post(
        url,
        {
            "product": desk1.lot.product.code,
            "signer_name": "王小明",
            "signer_relation": "监护人",
            "signature": SIGNATURE,
        },
    )
    assert r.status_code == 302
    consent = Consent.objects.get(resident=person)
    assert (consent.refused, consent.signer_relation, consent.text) == (False, "监护人", text)
    assert "已签署知情同意书" in c.get(r["Location"]).content.decode()


def test_a_refusal_to_sign_needs_a_reason_and_stops_the_dose(desk1, village_a1, screener_at_site, vaccinator):
    person = ready_person(desk1, village_a1, 1, consent=False)
    c = _as(screener_at_site)
    url = f"/desk/{desk1.session.pk}/consent/{person.pk}/"

    no_reason = c.post(url, {"product": desk1.lot.product.code, "signer_name": "王小明", "refused": "1"})
    assert no_reason.status_code == 400 and "拒绝签署须记录原因" in no_reason.content.decode()
    r = c.post(
        url,
        {
            "product": desk1.lot.product.code,
            "signer_name": "王小明",
            "refused": "1",
            "refusal_reason": "担心不良反应",
        },
    )
    assert r.status_code == 302 and Consent.objects.get(resident=person).refused
    assert "已记录拒绝签署" in c.get(r["Location"]).content.decode()

    check = _as(vaccinator).post(
        _url(desk1, "vaccinate"), {"action": "check", "resident": person.pk, "code": code(1)}
    )
    assert "受种者已拒绝签署知情同意书" in check.content.decode()


# --------------------------------------------------------------------------------------------- 接种


def _stops(html: str) -> list[str]:
    return re.findall(r'<div class="stop" role="alert">([^<]+)</div>', html)


def _check(client, desk1, person, serial: int = 1):
    return client.post(
        _url(desk1, "vaccinate"), {"action": "check", "resident": person.pk, "code": code(serial)}
    )


def _codes_at_another_site(village) -> None:
    from vaxops.supply import services as supply
    from vaxops.supply.models import ColdChainUnit, PlaceKind, StockPlace
    from vaxops.supply.tests.factories import receive

    store = StockPlace.objects.get(code="CDC")
    other = StockPlace.objects.create(
        code="S2", name="乙镇门诊冷柜", kind=PlaceKind.SITE, division=village.parent, parent=store
    )
    ColdChainUnit.objects.create(place=other, kind="refrigerator", usable_volume_cm3=100_000)
    lot = receive(store, lot_number="202105009", first=100, n=2)
    d = supply.dispatch_create(
        actor=SystemActor("t"), from_place=store, to_place=other, product=lot.product, doses=2
    )
    supply.dispatch_receive(actor=SystemActor("t"), dispatch=d)


@pytest.mark.parametrize(
    "case, expected",
    [
        ("unscreened", "今日尚未预检"),
        ("unsigned", "未签署知情同意书"),
        ("unknown_code", "不存在"),
        ("used_code", "已使用"),
        ("code_elsewhere", "不在本接种单位"),
        ("lot_on_hold", "暂停使用"),
        ("not_assigned", "未排班在接种台"),
    ],
)
def test_the_vaccinate_screen_stops_and_says_why(desk1, village_a1, vaccinator, case, expected):
    from vaxops.accounts.services import user_create
    from vaxops.supply import services as supply

    user, serial = vaccinator, 1
    person = ready_person(desk1, village_a1, 1, screened=case != "unscreened", consent=case != "unsigned")
    if case == "unknown_code":
        serial = 999
    elif case == "used_code":
        _give(vaccinator, ready_person(desk1, village_a1, 2, name="李大"))
    elif case == "code_elsewhere":
        _codes_at_another_site(village_a1)
        serial = 100
    elif case == "lot_on_hold":
        supply.lot_status_change(
            actor=SystemActor("t"), lot=desk1.lot, status="on_hold", reason="冷链异常待评估"
        )
    elif case == "not_assigned":
        user = user_create(
            username="vaccinator2", password=PASSWORD, role="site_vaccinator", division=desk1.site.division
        )
        StaffMember.objects.create(site=desk1.site, name="接种员丙", roles=["vaccination"], user=user)
    doses = Dose.objects.count()

    r = _check(_as(user), desk1, person, serial)

    assert r.status_code == 400
    html = r.content.decode()
    assert any(expected in s for s in _stops(html)), _stops(html)
    assert 'id="confirm-form"' not in html and 'id="card"' not in html
    assert Dose.objects.count() == doses


def test_a_successful_scan_shows_the_card_then_records_one_dose_and_its_record(desk1, village_a1, vaccinator):
    from vaxops.notify.models import Notification

    person = ready_person(desk1, village_a1, 1)
    c = _as(vaccinator)
    html = c.get(_url(desk1, "vaccinate") + f"?resident={person.pk}").content.decode()
    assert 'id="code"' in html and "autofocus" in html

    r = _check(c, desk1, person)
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="card"' in html and "王小明" in html and "第1剂" in html and desk1.lot.lot_number in html
    for site in ("左上臂三角肌", "右上臂三角肌", "其他（注明）"):
        assert f'value="{site}"' in html
    client_id = re.search(r'name="client_id" id="client_id" value="([0-9a-f]{32})"', html).group(1)
    assert not Dose.objects.exists()

    post = {
        "action": "administer",
        "resident": person.pk,
        "code": code(1),
        "client_id": client_id,
        "injection_site": "左上臂三角肌",
        "phone_last4": "5678",
    }
    first = c.post(_url(desk1, "vaccinate"), post)
    again = c.post(_url(desk1, "vaccinate"), post)  # a double tap / resubmit with the same request id

    dose = Dose.objects.get()
    assert Dose.objects.count() == 1
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"] == f"/desk/{desk1.session.pk}/vaccinate/done/{dose.pk}/"
    assert (dose.injection_site, dose.client_id, dose.trace_code.code) == ("左上臂三角肌", client_id, code(1))
    done = c.get(first["Location"]).content.decode()
    assert 'id="vaccinated"' in done and f'href="/desk/doses/{dose.pk}/record/"' in done

    record = c.get(f"/desk/doses/{dose.pk}/record/").content.decode()
    assert desk1.lot.lot_number in record and person.id_number_masked in record and "第1剂" in record
    assert f'class="this" id="record-dose-{dose.pk}"' in record and "/static/desk/record.css" in record
    assert person.id_number not in record
    assert 'id="void-form"' not in record  # a vaccinator does not void

    sms = Notification.objects.get(template="record_link")
    link = re.search(r"http://testserver/r/([^/\s]+)/", sms.text)
    assert link is not None and clinic_services.record_link_from_token(link.group(1)).resident == person


def test_a_wrong_confirmation_keeps_the_card_and_its_request_id(desk1, village_a1, vaccinator):
    person = ready_person(desk1, village_a1, 1)
    c = _as(vaccinator)
    client_id = uuid.uuid4().hex
    post = {
        "action": "administer",
        "resident": person.pk,
        "code": code(1),
        "client_id": client_id,
        "injection_site": "右上臂三角肌",
        "phone_last4": "0000",
    }

    wrong = c.post(_url(desk1, "vaccinate"), post)
    no_site = c.post(_url(desk1, "vaccinate"), post | {"injection_site": "", "phone_last4": "5678"})

    assert wrong.status_code == 400 and not Dose.objects.exists()
    html = wrong.content.decode()
    assert "手机号码后4位与档案不符" in html and 'id="card"' in html and f'value="{client_id}"' in html
    assert "请选择接种部位" in no_site.content.decode()


def test_a_retry_after_the_dose_answers_with_the_same_dose_and_a_reused_id_is_refused(
    desk1, village_a1, vaccinator
):
    first = ready_person(desk1, village_a1, 1)
    second = ready_person(desk1, village_a1, 2, name="李大")
    c = _as(vaccinator)
    client_id = uuid.uuid4().hex
    post = {
        "action": "administer",
        "resident": first.pk,
        "code": code(1),
        "client_id": client_id,
        "injection_site": "左上臂三角肌",
        "phone_last4": "5678",
    }
    assert c.post(_url(desk1, "vaccinate"), post).status_code == 302

    reused = c.post(_url(desk1, "vaccinate"), post | {"resident": second.pk, "code": code(2)})

    assert reused.status_code == 400 and "该请求标识已用于另一条接种记录" in reused.content.decode()
    assert Dose.objects.count() == 1


def test_finding_the_person_by_id_card_at_the_vaccinate_screen(desk1, village_a1, vaccinator):
    person = ready_person(desk1, village_a1, 1)
    c = _as(vaccinator)
    r = c.post(_url(desk1, "vaccinate"), {"action": "find", "scan": person.id_number})
    assert r["Location"] == f"{_url(desk1, 'vaccinate')}?resident={person.pk}"
    stranger = _resident(village_a1, 8)
    r = c.post(_url(desk1, "vaccinate"), {"action": "find", "scan": stranger.id_number})
    assert "尚未在本接种单位登记签到" in c.get(r["Location"]).content.decode()


# --------------------------------------------------------------------------------------------- 留观


def test_the_observation_list_counts_down_and_releases(
    desk1, village_a1, vaccinator, nurse, now, monkeypatch
):
    dose = _give(vaccinator, ready_person(desk1, village_a1, 1))
    obs = Observation.objects.get(dose=dose)
    c = _as(nurse)

    html = c.get(_url(desk1, "observation")).content.decode()
    assert f'id="observation-{obs.pk}"' in html and "王小明" in html and "剩余 30:00" in html
    assert 'hx-trigger="every 15s"' in html
    rows = c.get(_url(desk1, "observation") + "?rows=1", HTTP_HX_REQUEST="true").content.decode()
    assert rows.startswith('<div id="observation-rows"') and "<html" not in rows

    url = f"/desk/{desk1.session.pk}/observation/{obs.pk}/release/"
    early = c.post(url)
    assert early.status_code == 400 and "还需30分钟" in early.content.decode()
    monkeypatch.setattr(timezone, "now", lambda: now + dt.timedelta(minutes=31))
    c.force_login(nurse)  # the session lapses after 30 idle minutes
    assert "可离开" in c.get(_url(desk1, "observation")).content.decode()
    assert c.post(url).status_code == 302
    obs.refresh_from_db()
    assert obs.released_at is not None and obs.released_by == nurse
    assert f'id="observation-{obs.pk}"' not in c.get(_url(desk1, "observation")).content.decode()


def test_an_adverse_reaction_is_noted_and_an_early_release_needs_a_reason(
    desk1, village_a1, vaccinator, nurse
):
    dose = _give(vaccinator, ready_person(desk1, village_a1, 1))
    obs = Observation.objects.get(dose=dose)
    c = _as(nurse)
    base = f"/desk/{desk1.session.pk}/observation/{obs.pk}"

    panel = c.get(_url(desk1, "observation") + f"?obs={obs.pk}&do=reaction").content.decode()
    assert 'id="reaction-form"' in panel and "县人民医院" in panel
    bad = c.post(f"{base}/reaction/", {"severity": "moderate", "description": ""})
    assert bad.status_code == 400 and "请描述反应表现与处置" in bad.content.decode()
    r = c.post(
        f"{base}/reaction/", {"severity": "moderate", "description": "胸闷，送定点医院", "transferred": "1"}
    )
    assert r.status_code == 302
    note = ReactionNote.objects.get(observation=obs)
    assert (note.severity, note.transferred, note.recorded_by) == ("moderate", True, nurse)

    assert c.post(f"{base}/release/", {"reason": "异常反应转诊"}).status_code == 302
    obs.refresh_from_db()
    assert "转诊" in obs.release_note
    assert (
        _as(vaccinator).post(f"{base}/release/", {"reason": "x"}).status_code == 403
    )  # not the observation role


# ------------------------------------------------------------------------------------- the record


def test_the_private_record_link_opens_without_login_and_a_forged_one_is_404(desk1, village_a1, vaccinator):
    person = ready_person(desk1, village_a1, 1)
    Dose.objects.create(
        resident=person,
        product_code="BBIBP-CorV",
        given_on=dt.date(2021, 4, 1),
        place="杭州市西湖区",
        external=True,
    )
    clinic_services.dose_void(
        actor=SystemActor("t"),
        dose_id=Dose.objects.create(
            resident=person,
            product_code="CoronaVac",
            given_on=dt.date(2021, 3, 1),
            place="错录",
            external=True,
        ).pk,
        reason="录入错误",
    )
    dose = _give(vaccinator, person)
    token = clinic_services.record_link_token(
        clinic_services.record_link_issue(actor=SystemActor("t"), resident=person, channel="staff", dose=dose)
    )

    r = Client().get(f"/r/{token}/")

    assert r.status_code == 200
    html = r.content.decode()
    assert "no-store" in r["Cache-Control"] and r["Referrer-Policy"] == "same-origin"
    assert desk1.lot.lot_number in html and person.id_number_masked in html and person.id_number not in html
    assert "杭州市西湖区" in html and "错录" not in html  # a voided dose is not on the person's record
    assert "Lot" in html and "COVID-19 Vaccination Record" in html
    assert f'id="record-dose-{dose.pk}"' in html and "第2剂" in html  # numbered after the paper-record dose
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert Client().get(f"/r/{forged}/").status_code == 404
    assert Client().get("/r/nonsense/").status_code == 404


def test_the_county_voids_a_desk_dose_and_the_code_goes_back_to_stock(desk1, village_a1, vaccinator, cdc):
    dose = _give(vaccinator, ready_person(desk1, village_a1, 1))
    url = f"/desk/doses/{dose.pk}/void/"
    c = _as(cdc)
    assert 'id="void-form"' in c.get(f"/desk/doses/{dose.pk}/record/").content.decode()

    assert _as(vaccinator).post(url, {"reason": "登记错人", "disposition": "returned"}).status_code == 403
    missing = c.post(url, {"reason": "登记错人"})
    assert missing.status_code == 400 and "请选择疫苗去向" in missing.content.decode()
    r = c.post(url, {"reason": "登记错人", "disposition": "returned"})

    assert r.status_code == 302
    dose.refresh_from_db()
    assert dose.voided_at is not None and dose.void_reason == "登记错人"
    assert TraceCode.objects.get(code=code(1)).state == CodeState.IN_STOCK
    assert StockBalance.objects.get(place=desk1.place, lot=desk1.lot).doses == 10
    assert 'id="voided"' in c.get(r["Location"]).content.decode()
    again = c.post(url, {"reason": "登记错人", "disposition": "returned"})
    assert again.status_code == 400 and "已作废" in again.content.decode()


def test_the_record_of_a_dose_entered_without_a_time_shows_its_date(client, cdc, village_a1):
    import datetime as dt

    from vaxops.clinic.models import Dose
    from vaxops.conftest import make_id
    from vaxops.registry.models import Resident

    person = Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(dt.date(1970, 1, 1), 77),
        name="赵一",
        village=village_a1,
        village_code=village_a1.code,
        birth_date=dt.date(1970, 1, 1),
    )
    dose = Dose.objects.create(
        resident=person, product_code="BBIBP-CorV", given_on=dt.date(2021, 5, 6), place="甲镇"
    )
    client.force_login(cdc)
    response = client.get(f"/desk/doses/{dose.pk}/record/")
    assert response.status_code == 200
    assert "2021-05-06" in response.content.decode()


def test_a_scan_of_another_product_than_consented_re_takes_consent_at_the_station(
    desk1, village_a1, vaccinator
):
    """Consent was signed for 科兴; the vaccinator scans a 国药北京 code: the stop names both by the names nurses
    know and offers to re-take consent here for the product in hand, then comes back to the same scan."""
    from vaxops.audit.models import AuditEvent

    person = ready_person(desk1, village_a1, 1, consent=False)
    ConsentText.objects.create(
        product_code="CoronaVac",
        version="t1",
        title="科兴知情同意书",
        text="知情同意",
        effective_from=dt.date(2021, 1, 1),
    )
    desk_services.consent_record(
        actor=SystemActor("t"),
        resident_id=person.pk,
        product_code="CoronaVac",
        signer_name="王小明",
        signature=SIGNATURE,
    )
    c = _as(vaccinator)

    r = _check(c, desk1, person)
    assert r.status_code == 400
    html = r.content.decode()
    stops = _stops(html)
    assert any("知情同意书签署的是科兴，与所扫疫苗国药北京不符" in s for s in stops), stops
    assert "BBIBP-CorV" not in " ".join(stops) and "CoronaVac" not in " ".join(stops)
    link = re.search(r'id="reconsent" href="([^"]+)"', html)
    assert link is not None and "为所扫疫苗（国药北京）重新签署知情同意书" in html
    url = link.group(1).replace("&amp;", "&")
    assert "then=vaccinate" in url and "product=BBIBP-CorV" in url

    page = c.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert '<canvas class="sig"' in text and 'id="consent-product"' in text and "国药北京" in text
    assert "返回接种" in text and 'name="then" value="vaccinate"' in text

    signed = c.post(
        url,
        {
            "product": "BBIBP-CorV",
            "then": "vaccinate",
            "code": code(1),
            "signer_name": "王小明",
            "signer_relation": "本人",
            "signature": SIGNATURE,
        },
    )
    assert signed.status_code == 302
    assert signed["Location"].startswith(_url(desk1, "vaccinate") + f"?resident={person.pk}&code=")
    latest = Consent.objects.filter(resident=person).order_by("-at", "-pk").first()
    assert latest.text.product_code == "BBIBP-CorV" and not latest.refused
    event = AuditEvent.objects.filter(action="consent.record").order_by("-pk").first()
    assert event is not None and event.actor_id == vaccinator.pk  # the consent stays audited, by whom took it

    back = c.get(signed["Location"])
    assert back.status_code == 200
    html = back.content.decode()
    assert 'id="card"' in html and 'id="confirm-form"' in html and _stops(html) == []
    assert "国药北京 · 新型冠状病毒灭活疫苗（Vero细胞）" in html


def test_a_refusal_is_not_offered_a_re_take_at_the_station(desk1, village_a1, vaccinator):
    person = ready_person(desk1, village_a1, 1, consent=False)
    desk_services.consent_record(
        actor=SystemActor("t"),
        resident_id=person.pk,
        product_code=desk1.lot.product.code,
        signer_name="王小明",
        refused=True,
        refusal_reason="本人不愿意",
    )
    html = _check(_as(vaccinator), desk1, person).content.decode()
    assert any("拒绝签署" in s for s in _stops(html)) and 'id="reconsent"' not in html


# ------------------------------------------------------------------------------------- desk frictions


def test_names_in_full_for_the_sessions_desk_staff_only(desk1, village_a1, vaccinator, registrar, cdc):
    """The one rule (``sees_full_names``): staff on the session's roster see full names; the county CDC at
    the same desk, and staff of the site not on the roster, see them masked. ID numbers stay masked."""
    from vaxops.accounts.services import user_create
    from vaxops.desk.views import sees_full_names

    person = ready_person(desk1, village_a1, 1, name="王小明")
    off_roster = user_create(
        username="off", password=PASSWORD, role="site_screening", division=desk1.site.division
    )
    StaffMember.objects.create(site=desk1.site, name="休息员", roles=["screening"], user=off_roster)

    assert sees_full_names(vaccinator, desk1.session) and sees_full_names(registrar, desk1.session)
    assert not sees_full_names(cdc, desk1.session) and not sees_full_names(off_roster, desk1.session)
    for user, shown, hidden in ((vaccinator, "王小明", "王*明"), (cdc, "王*明", "王小明")):
        html = _as(user).get(_url(desk1, "vaccinate")).content.decode()
        queue = html.split('id="queue"', 1)[1]
        assert shown in queue and hidden not in queue, user.username
        assert person.id_number not in html and person.id_number_masked in html


def _session_opens_at_eight(desk1):
    """Move the session's slots so that it opens at 08:00 today; "now" is then set before it."""
    from vaxops.booking.models import Slot

    eight = dt.datetime.combine(timezone.localdate(), dt.time(8), tzinfo=timezone.get_current_timezone())
    Slot.objects.filter(session=desk1.session, start__lt=eight).delete()  # the booked slot is the evening's
    assert Slot.objects.filter(session=desk1.session).order_by("start").first().start == eight


def test_a_check_in_hours_before_the_session_opens_asks_to_confirm(desk1, village_a1, registrar, monkeypatch):
    person = _resident(village_a1, 1, name="李四")
    a = _book(desk1, person)
    _session_opens_at_eight(desk1)
    at = dt.datetime.combine(timezone.localdate(), dt.time(0, 28), tzinfo=timezone.get_current_timezone())
    monkeypatch.setattr(timezone, "now", lambda: at)
    c = _as(registrar)

    c.post(_url(desk1, "checkin"), {"scan": person.id_number})
    html = c.get(_url(desk1, "checkin")).content.decode()
    assert Appointment.objects.get(pk=a.pk).status == AppointmentStatus.BOOKED  # not yet
    assert 'id="checkin-early"' in html and "本场次08:00开诊，现在是00:28，距开诊还有7小时32分钟" in html
    assert person.id_number not in html  # the confirmation carries the appointment, signed, not the ID number
    ticket = re.search(r'name="early_ticket" value="([^"]+)"', html).group(1)

    forged = c.post(_url(desk1, "checkin"), {"early_ticket": ticket + "x"})
    assert forged.status_code == 302 and Appointment.objects.get(pk=a.pk).status == AppointmentStatus.BOOKED

    c.post(_url(desk1, "checkin"), {"early_ticket": ticket})
    html = c.get(_url(desk1, "checkin")).content.decode()
    assert Appointment.objects.get(pk=a.pk).status == AppointmentStatus.CHECKED_IN
    assert 'id="checkin-message"' in html and "已签到" in html


def test_a_check_in_within_the_hour_before_opening_needs_no_confirmation(
    desk1, village_a1, registrar, monkeypatch
):
    person = _resident(village_a1, 1, name="李四")
    a = _book(desk1, person)
    _session_opens_at_eight(desk1)
    at = dt.datetime.combine(timezone.localdate(), dt.time(7, 15), tzinfo=timezone.get_current_timezone())
    monkeypatch.setattr(timezone, "now", lambda: at)
    _as(registrar).post(_url(desk1, "checkin"), {"scan": person.id_number})
    assert Appointment.objects.get(pk=a.pk).status == AppointmentStatus.CHECKED_IN


def test_a_walk_in_is_shown_with_its_check_in_time_not_a_slot(desk1, village_a1, registrar):
    person = _resident(village_a1, 1, name="李四")
    c = _as(registrar)
    c.post(_url(desk1, "checkin"), {"scan": person.id_number})
    html = c.get(_url(desk1, "checkin")).content.decode()
    ticket = re.search(r'name="ticket" value="([^"]+)"', html).group(1)
    c.post(f"/desk/{desk1.session.pk}/checkin/walk-in/", {"ticket": ticket})
    html = c.get(_url(desk1, "checkin")).content.decode()
    line = re.search(r'<p id="checkin-appointment">(.*?)</p>', html, re.S).group(1)
    assert "现场登记" in line and "签到 10:00" in line and "预约：" not in line


def test_a_man_is_not_asked_about_pregnancy_and_the_form_has_all_no(desk1, village_a1, screener_at_site):
    man = ready_person(desk1, village_a1, 1, screened=False, consent=False, name="张伟")
    Resident.objects.filter(pk=man.pk).update(sex="M")
    woman = ready_person(desk1, village_a1, 2, screened=False, consent=False, name="王芳")
    Resident.objects.filter(pk=woman.pk).update(sex="F")
    c = _as(screener_at_site)

    html = c.get(_url(desk1, "screening") + f"?resident={man.pk}").content.decode()
    assert 'name="q_pregnancy"' not in html and 'name="q_lactation"' not in html
    assert 'id="all-no"' in html and "全部否" in html
    assert 'name="q_pregnancy"' in c.get(_url(desk1, "screening") + f"?resident={woman.pk}").content.decode()

    answers = {k: v for k, v in ANSWERS.items() if k not in ("q_pregnancy", "q_lactation")}
    r = c.post(_url(desk1, "screening"), {"resident": man.pk, **answers, "temperature_c": "36.5"})
    assert r.status_code in (200, 302)
    record = ScreeningRecord.objects.get(resident=man)
    assert record.outcome == "proceed"
    assert record.answers["pregnancy"] is False and record.answers["lactation"] is False

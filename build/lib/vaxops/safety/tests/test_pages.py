"""The safety pages as their roles see them: the nurse's one step at the observation desk, the hospital's
home and case, the county's list with the one-click hold, the case card and its export, the leader's counts,
and the person's plain form behind their record link."""

import io

import openpyxl
import pytest
from django.test import Client
from django.utils import timezone

from vaxops.clinic import services as clinic_services
from vaxops.safety.models import AdverseEventReport, HospitalCase, LotHold
from vaxops.supply.models import Lot

from .conftest import give, note


def _as(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def reported(desk1, village_a1, vaccinator, nurse, hospitals):
    dose = give(desk1, village_a1, vaccinator, 1, 1)
    n = note(dose)
    c = _as(nurse)
    obs = dose.observation
    panel = c.get(f"/desk/{desk1.session.pk}/observation/?obs={obs.pk}&do=reaction").content.decode()
    assert "报告并转诊定点救治医院" in panel
    r = c.post(f"/desk/{desk1.session.pk}/observation/{obs.pk}/reaction/{n.pk}/report/", {"refer": "1"})
    assert r.status_code == 302
    page = c.get(r["Location"]).content.decode()
    assert "已报告疑似异常反应" in page and "清溪县人民医院" in page
    return AdverseEventReport.objects.get(reaction_note=n)


def test_the_nurse_reports_and_refers_in_one_step(reported, hospitals):
    assert reported.source == "observation"
    assert HospitalCase.objects.get(report=reported).hospital == hospitals[1]


def test_the_hospitals_home_is_its_inbox_and_it_records_treatment(reported, doctor):
    c = _as(doctor)
    home = c.get("/")
    assert home.status_code == 302 and home["Location"] == "/safety/hospital/"
    inbox = c.get("/safety/hospital/").content.decode()
    assert reported.number in inbox
    case = HospitalCase.objects.get(report=reported)
    url = f"/safety/hospital/cases/{case.pk}/"
    assert c.post(url, {"do": "admit", "doctor": "钱医生"}).status_code == 302
    assert c.post(url, {"do": "treat", "note": "吸氧，肾上腺素"}).status_code == 302
    assert c.post(url, {"do": "discharge", "outcome": "recovered"}).status_code == 302
    page = c.get(url).content.decode()
    assert "吸氧，肾上腺素" in page and "已出院" in page


def test_the_county_confirms_a_hold_in_one_click(reported, cdc, desk1):
    c = _as(cdc)
    page = c.get("/safety/").content.decode()
    assert reported.number in page and "确认暂停该批号" in page
    hold = LotHold.objects.get(lot=desk1.lot)
    assert c.post(f"/safety/holds/{hold.pk}/", {"do": "confirm"}).status_code == 302
    assert Lot.objects.get(pk=desk1.lot.pk).status == "on_hold"


def test_the_case_card_prints_and_exports_and_the_leader_sees_counts_only(reported, cdc, leader):
    c = _as(cdc)
    page = c.get(f"/safety/cases/{reported.pk}/").content.decode()
    assert "个案报告卡" in page and "过敏性休克" in page and "data-print" in page
    x = c.get(f"/safety/cases/{reported.pk}/card.xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(x.content)).active
    values = {row[0]: row[1] for row in ws.iter_rows(values_only=True)}
    assert values["编号"] == reported.number and "过敏性休克" in values["主要临床表现"]
    lead = _as(leader)
    counts = lead.get("/safety/").content.decode()
    assert "今日报告" in counts and "过敏性休克" not in counts and reported.number not in counts
    assert lead.get(f"/safety/cases/{reported.pk}/").status_code in (403, 404)
    assert lead.get(f"/safety/cases/{reported.pk}/card.xlsx").status_code == 403


def test_the_person_reports_from_their_record_link(desk1, village_a1, vaccinator, cdc):
    dose = give(desk1, village_a1, vaccinator, 1, 1)
    link = clinic_services.record_link_create(actor=cdc, dose_id=dose.pk)
    token = clinic_services.record_link_token(link)
    c = Client()
    assert "点此告诉我们" in c.get(f"/r/{token}/").content.decode()
    form = c.get(f"/safety/mine/{token}/").content.decode()
    assert 'id="mine-form"' in form
    onset = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    r = c.post(
        f"/safety/mine/{token}/",
        {"dose": dose.pk, "onset_at": onset, "signs": "发热、皮疹", "phone": "13900000000"},
    )
    assert r.status_code == 200 and "已收到您的报告" in r.content.decode()
    report = AdverseEventReport.objects.get(dose=dose)
    assert report.source == "person" and report.signs == ["发热", "皮疹"]
    assert c.get("/safety/mine/not-a-token/").status_code == 404

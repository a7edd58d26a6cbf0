"""The demo's sessions are covered as the county would see them (the paired hospital's trained rescue doctor on
duty and the ambulance with its phone), and its vaccine-safety pages have cases at different steps."""

import datetime as dt

import pytest

from vaxops.demo.tests.test_demo import seed
from vaxops.safety import services as safety
from vaxops.safety.models import AdverseEventReport, AmbulanceCover, HospitalCase, LotHold, SitePairing
from vaxops.sites import services as sites
from vaxops.sites.models import Assignment, Session


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def wednesday(monkeypatch):
    """10:00 on a Wednesday (Asia/Shanghai): the clinic works (it rests on Sundays), so today has a session."""
    from django.utils import timezone as tz

    fixed = dt.datetime(2026, 12, 2, 10, tzinfo=tz.get_current_timezone()).astimezone(dt.UTC)
    monkeypatch.setattr(tz, "now", lambda: fixed)
    return fixed.astimezone(tz.get_current_timezone()).date()


def test_the_demo_sessions_are_covered_and_today_opens(db, wednesday):
    seed()
    sessions = list(
        Session.objects.filter(
            site__in=SitePairing.objects.values("site"), day__gte=wednesday
        ).select_related("site")
    )
    assert len(sessions) >= 6  # today at the clinic, then three days at the clinic and the hall
    for session in sessions:
        assert safety.cover_problems(session) == [], (session.site.code, session.day)
        hospital = safety.paired_hospital(session.site)
        [duty] = Assignment.objects.filter(session=session, role="rescue").select_related("staff")
        assert duty.desk_id is None and hospital.rescue_staff.filter(pk=duty.staff_id).exists()
        assert duty.staff.certificates.filter(kind="training", valid_to__gte=session.day).exists()
        cover = AmbulanceCover.objects.get(session=session)
        assert cover.phone and cover.hospital == hospital
    today = Session.objects.get(site__code="QX-S001", day=wednesday)
    assert today.status == "open"
    assert sites.session_open_check(today) == (True, "")
    # Tomorrow's "四有" is left partly ticked on purpose (to show the checklist), but nothing is missing on
    # safety's side: no rescue roster or ambulance in the reason.
    ok, why = sites.session_open_check(
        Session.objects.get(site__code="QX-S001", day=wednesday + dt.timedelta(1))
    )
    assert "医疗救治人员" not in why and "救护车及其电话" not in why
    seed()  # a second run changes nothing
    assert AmbulanceCover.objects.count() == len(sessions)
    assert Assignment.objects.filter(role="rescue").count() == len(sessions)


def test_the_demo_has_cases_for_the_county_the_hospital_and_the_panel(db, wednesday, client):
    from vaxops.accounts.models import User

    seed()
    by_status = dict(AdverseEventReport.objects.values_list("status", "serious").order_by("status"))
    assert set(AdverseEventReport.objects.values_list("status", flat=True)) == {
        "reported",
        "investigating",
        "closed",
    }
    assert by_status["investigating"] is True
    [case] = HospitalCase.objects.select_related("hospital", "report")
    assert case.hospital.designated_severe and case.state == "admitted" and case.entries.count() == 1
    assert LotHold.objects.filter(state="proposed", lot=case.report.lot).exists()  # waits for the click
    client.force_login(User.objects.get(username="hospital"))
    page = client.get("/safety/hospital/").content.decode()
    assert case.report.number in page
    client.force_login(User.objects.get(username="cdc"))
    page = client.get("/safety/").content.decode()
    for number in AdverseEventReport.objects.values_list("number", flat=True):
        assert number in page
    assert client.get(f"/safety/cases/{case.report_id}/").status_code == 200
    seed()
    assert AdverseEventReport.objects.count() == 3

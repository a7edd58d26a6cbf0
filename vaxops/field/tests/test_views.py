"""The field pages: who may see and act, and that each POST does what it says."""

import datetime as dt

import pytest
from django.utils import timezone

from vaxops.conftest import PASSWORD
from vaxops.field import services
from vaxops.field.models import Course, TeamTrip
from vaxops.jurisdictions.models import Division
from vaxops.sites.models import Session

from .factories import mobile_team

pytestmark = pytest.mark.django_db

ALL = ["实施方案", "免疫程序", "禁忌", "接种点管理", "冷链", "安全注射", "异常反应监测报告与处置"]


def _user(username, role, division):
    from vaxops.accounts.services import user_create

    return user_create(username=username, password=PASSWORD, role=role, division=division)


@pytest.fixture
def ta(county):
    return Division.objects.get(code="330199001000")


@pytest.fixture
def tb(county):
    return Division.objects.get(code="330199002000")


def test_a_township_creates_its_course_and_cannot_see_anothers(client, ta, tb, cdc):
    a = _user("ta", "township_worker", ta)
    b = _user("tb", "township_worker", tb)
    client.force_login(a)
    r = client.post(
        "/field/training/add/",
        {"code": "PX-A", "title": "甲镇培训", "division": ta.code, "deadline": "2099-01-01", "syllabus": ALL},
    )
    course = Course.objects.get(code="PX-A")
    assert r.status_code == 302 and r["Location"] == f"/field/training/{course.pk}/"
    assert client.get(f"/field/training/{course.pk}/").status_code == 200
    client.logout()
    client.force_login(b)
    assert client.get(f"/field/training/{course.pk}/").status_code == 404
    r = client.post(
        "/field/training/add/",
        {"code": "PX-B", "title": "越权", "division": ta.code, "deadline": "2099-01-01", "syllabus": ALL},
        follow=True,
    )
    assert not Course.objects.filter(code="PX-B").exists()
    assert "辖区以外" in r.content.decode()


def test_a_village_worker_has_no_training_pages(client, worker_a):
    client.force_login(worker_a)
    assert client.get("/field/training/").status_code == 403


def test_the_training_page_shows_the_counts_and_expiring(client, cdc, ta):
    from vaxops.sites.models import Certificate

    from .factories import staff

    team = mobile_team(ta)
    s = staff(team, "将到期", "vaccination", certified=False)
    today = timezone.localdate()
    Certificate.objects.create(
        staff=s, kind="training", number="EXP-1", valid_from=today, valid_to=today + dt.timedelta(days=3)
    )
    client.force_login(cdc)
    body = client.get("/field/training/").content.decode()
    assert "培训并发证 <strong>1</strong> 人" in body
    assert "EXP-1" in body


def test_a_mobile_plan_at_a_village_and_the_stock_pages(client, cdc, county, ta, employer):
    from vaxops.supply.tests.factories import network, receive

    _, town_a, _ = network(county)
    receive(town_a, n=5)
    team = mobile_team(ta, home=town_a)
    client.force_login(cdc)
    day = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    r = client.post(
        f"/field/mobile/{team.code}/plan/", {"day": day, "venue_kind": "village", "village": "330199001002"}
    )
    session = Session.objects.get(site=team)
    assert r["Location"] == f"/sites/sessions/{session.pk}/"
    assert session.venue_village.code == "330199001002"
    assert "甲镇2村" in client.get(f"/sites/sessions/{session.pk}/").content.decode()
    box = team.stock_place.units.get()
    r = client.post(
        f"/field/sessions/{session.pk}/stock/out/", {"product": "BBIBP-CorV", "doses": 2, "cold_box": box.pk}
    )
    trip = TeamTrip.objects.get(session=session)
    assert trip.out.doses >= 2
    client.post(f"/field/sessions/{session.pk}/stock/{trip.pk}/back/")
    trip.refresh_from_db()
    assert trip.back is not None and trip.back.doses == trip.out.doses
    assert services.trip_remaining(trip) == 0


def test_a_village_venue_needs_the_village(client, cdc, ta):
    team = mobile_team(ta)
    client.force_login(cdc)
    day = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    r = client.post(f"/field/mobile/{team.code}/plan/", {"day": day, "venue_kind": "village"}, follow=True)
    assert not Session.objects.filter(site=team).exists()
    assert "请选择接种地点所在的村" in r.content.decode()

"""Only a qualified 预防接种单位 vaccinates (资格, with its number and date), and not before its planned opening
date: planning a session is refused otherwise; the site page and the admin show both."""

import datetime as dt

import pytest
from django.urls import reverse

from vaxops.booking.tests.factories import site, tomorrow
from vaxops.sites import services
from vaxops.sites.errors import SitesErrorCode
from vaxops.sites.models import Session, Site
from vaxops.testing.refusals import refused

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _set(s: Site, **fields) -> Site:
    Site.objects.filter(pk=s.pk).update(**fields)
    s.refresh_from_db()
    return s


def test_a_site_without_a_qualification_cannot_plan_a_session(village_a1, cdc):
    s = _set(site(village_a1), qualification_number="", qualification_date=None)

    with refused(SitesErrorCode.SITE_UNQUALIFIED, field="site") as e:
        services.session_plan(actor=cdc, site=s, day=tomorrow())

    assert "资格" in e.value.message and s.name in e.value.message
    assert not Session.objects.filter(site=s).exists()


def test_a_qualification_counts_from_its_date(village_a1, cdc):
    day = tomorrow()
    s = _set(site(village_a1), qualification_date=day + dt.timedelta(days=1))

    with refused(SitesErrorCode.SITE_UNQUALIFIED, field="day") as e:
        services.session_plan(actor=cdc, site=s, day=day)
    assert format(day + dt.timedelta(days=1), "%Y-%m-%d") in e.value.message

    later = day + dt.timedelta(days=1)
    assert services.session_plan(actor=cdc, site=s, day=later).day == later


def test_no_session_before_the_planned_opening_date(village_a1, cdc):
    opening = tomorrow() + dt.timedelta(days=2)
    s = _set(site(village_a1), planned_opening=opening)

    with refused(SitesErrorCode.SITE_NOT_YET_OPEN, field="day") as e:
        services.session_plan(actor=cdc, site=s, day=tomorrow())
    assert "拟于" in e.value.message and opening.isoformat() in e.value.message

    assert services.session_plan(actor=cdc, site=s, day=opening).day == opening


def test_the_plan_page_shows_the_refusal(client, village_a1, cdc):
    s = _set(site(village_a1), qualification_number="")
    client.force_login(cdc)

    page = client.get(f"/sites/{s.code}/").content.decode()
    assert 'id="plan-unqualified"' in page

    r = client.post(f"/sites/{s.code}/plan/", {"day": tomorrow().isoformat()}, follow=True)
    assert r.status_code == 200 and "尚未登记接种单位资格" in r.content.decode()
    assert not Session.objects.filter(site=s).exists()


def test_the_site_page_shows_its_qualification_and_planned_opening(client, village_a1, cdc):
    s = _set(
        site(village_a1),
        qualification_number="QX-JZDW-2021-009",
        qualification_date=dt.date(2021, 3, 2),
        planned_opening=dt.date(2099, 3, 15),
    )
    client.force_login(cdc)

    page = client.get(f"/sites/{s.code}/").content.decode()

    qualification = page.split('id="qualification">', 1)[1].split("</dd>", 1)[0]
    assert "QX-JZDW-2021-009" in qualification
    assert "2021-03-02" in qualification
    assert "拟启用" in qualification and "2099-03-15" in qualification
    assert 'id="plan-opening"' in page


def test_an_unregistered_qualification_is_marked_on_the_site_page(client, village_a1, cdc):
    s = _set(site(village_a1), qualification_number="", qualification_date=None)
    client.force_login(cdc)

    qualification = client.get(f"/sites/{s.code}/").content.decode().split('id="qualification">', 1)[1]

    assert qualification.split("</dd>", 1)[0].count("未登记") == 1


def test_the_site_admin_lists_and_filters_the_qualification_and_planned_opening(client, village_a1, cdc):
    qualified = _set(site(village_a1, code="SQ"), planned_opening=dt.date(2099, 3, 15))
    bare = _set(site(village_a1, code="SN"), qualification_number="", qualification_date=None)
    cdc.is_staff = True
    cdc.save()
    client.force_login(cdc)
    url = reverse("admin:sites_site_changelist")

    page = client.get(url).content.decode()
    for column in ("column-qualification_number", "column-qualification_date", "column-planned_opening"):
        assert column in page
    assert qualified.qualification_number in page and "2099" in page

    only_qualified = client.get(url, {"qualified": "yes"}).content.decode()
    only_bare = client.get(url, {"qualified": "no"}).content.decode()
    assert f"/{qualified.pk}/change/" in only_qualified and f"/{bare.pk}/change/" not in only_qualified
    assert f"/{bare.pk}/change/" in only_bare and f"/{qualified.pk}/change/" not in only_bare

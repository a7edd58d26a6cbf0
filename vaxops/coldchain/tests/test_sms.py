"""An excursion texts the responsible staff through notify (besides the in-app alert): the unit's keeper for
every excursion, the county's duty phones for a freeze or heat; once per excursion and phone."""

import datetime as dt

import pytest

from vaxops.coldchain.models import Excursion
from vaxops.desk.tests.desk_setup import open_site, ten_in_the_morning
from vaxops.notify.models import Notification
from vaxops.sites.models import StaffMember

from .helpers import equipment_for, feed


@pytest.fixture
def site(county, village_a1, vaccinator, monkeypatch):
    now = ten_in_the_morning(monkeypatch)
    d = open_site(county, village_a1, vaccinator)
    d.now = now
    return d


@pytest.fixture
def eq(site, worker_a, settings):
    settings.VAXOPS_COLDCHAIN = {"duty_phones": ["13700000001"]}
    StaffMember.objects.create(
        site=site.site, name="冷链管理员", roles=[], user=worker_a, phone="13900000002"
    )
    return equipment_for(site.place, keeper=worker_a)


def test_a_freeze_texts_the_keeper_and_the_county(site, eq):
    start = site.now - dt.timedelta(hours=3)
    feed(eq, start, [5.0] + [-1.0] * 61 + [5.0])
    freeze = Excursion.objects.get(kind="freeze")
    sms = Notification.objects.filter(
        template="coldchain_excursion", reference__startswith=f"excursion:{freeze.pk}:"
    )
    assert sorted(sms.values_list("phone", flat=True)) == ["13700000001", "13900000002"]
    assert all(eq.code in t for t in sms.values_list("text", flat=True))
    assert all(t.startswith("【冷链】") and "已隔离" in t for t in sms.values_list("text", flat=True))
    # The same readings again (a retry) text nobody twice.
    feed(eq, start, [5.0] + [-1.0] * 61 + [5.0])
    assert sms.count() == 2


def test_a_warning_texts_the_keeper_only(site, eq):
    start = site.now - dt.timedelta(hours=3)
    feed(eq, start, [5.0, 9.0, 9.5, 5.0])
    warning = Excursion.objects.get(kind="warning")
    phones = Notification.objects.filter(
        template="coldchain_excursion", reference__startswith=f"excursion:{warning.pk}:"
    ).values_list("phone", flat=True)
    assert list(phones) == ["13900000002"]

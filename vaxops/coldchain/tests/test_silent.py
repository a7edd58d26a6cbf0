"""A sensor that stops reporting raises a staff alert within the worker's check interval: one ongoing silent
excursion and one alert per silent sensor however often the check runs, resolved when readings resume."""

import datetime as dt

import pytest
from django.utils import timezone as tz

from vaxops.audit.models import AuditEvent
from vaxops.coldchain import selectors, services
from vaxops.coldchain.models import Excursion, StaffAlert
from vaxops.desk.tests.desk_setup import open_site, ten_in_the_morning

from .helpers import equipment_for, feed

MIN = dt.timedelta(minutes=1)


@pytest.fixture
def site(county, village_a1, vaccinator, monkeypatch):
    d = open_site(county, village_a1, vaccinator)
    d.now = ten_in_the_morning(monkeypatch)
    return d


@pytest.fixture
def eq(site, worker_a):
    return equipment_for(site.place, keeper=worker_a)


def _at(monkeypatch, moment):
    monkeypatch.setattr(tz, "now", lambda: moment)


def _silent(eq):
    return list(Excursion.objects.filter(equipment=eq, kind="silent").order_by("start"))


def test_a_sensor_that_stops_reporting_is_alerted_once_and_resolved_when_it_reports_again(
    site, eq, worker_a, cdc, monkeypatch
):
    last = site.now - 30 * MIN
    feed(eq, last - 10 * MIN, [5.0] * 11)  # a reading a minute until 09:30
    assert services.silent_check() == {"opened": 0, "resumed": 0, "silent": 0}

    _at(monkeypatch, last + 60 * MIN)  # exactly the silent time: not yet
    assert services.silent_check()["opened"] == 0
    _at(monkeypatch, last + 61 * MIN)
    assert services.silent_check() == {"opened": 1, "resumed": 0, "silent": 1}
    [e] = _silent(eq)
    assert (e.start, e.last_seen, e.end, e.status) == (last, last, None, "open")
    alerts = StaffAlert.objects.filter(excursion=e)
    assert sorted((a.kind, a.role, a.user_id) for a in alerts) == [
        ("silent", "", worker_a.pk),
        ("silent", "county_admin", None),
    ]
    assert [a.pk for a in selectors.alerts_for(user=cdc)] == [a.pk for a in alerts if a.role]

    _at(monkeypatch, last + 76 * MIN)  # the next runs change nothing
    assert services.silent_check() == {"opened": 0, "resumed": 0, "silent": 1}
    assert services.silent_check()["opened"] == 0
    assert len(_silent(eq)) == 1 and StaffAlert.objects.filter(kind="silent").count() == 2
    assert AuditEvent.objects.filter(action="coldchain.excursion_open", object_id=str(e.pk)).count() == 1

    back = last + 80 * MIN
    feed(eq, back, [5.0, 5.1], actor=worker_a)  # readings resume: the excursion ends at the first one
    [e] = _silent(eq)
    assert (e.end, e.duration_seconds) == (back, 80 * 60)
    assert all(a.resolved_at is not None for a in StaffAlert.objects.filter(excursion=e))
    assert list(selectors.alerts_for(user=cdc)) == []
    assert AuditEvent.objects.filter(action="coldchain.silent_resolved", object_id=str(e.pk)).exists()
    assert services.silent_check() == {"opened": 0, "resumed": 0, "silent": 0}

    _at(monkeypatch, back + MIN + 61 * MIN)  # silent again: a second excursion from its new last reading
    assert services.silent_check()["opened"] == 1
    assert [x.start for x in _silent(eq)] == [last, back + MIN]


def test_late_readings_filling_the_silence_end_it_at_the_next_check(site, eq, monkeypatch):
    last = site.now - 30 * MIN
    feed(eq, last, [5.0])
    _at(monkeypatch, last + 61 * MIN)
    assert services.silent_check()["opened"] == 1
    # the logger's buffer arrives: a reading every 20 minutes, no gap longer than the silent time
    feed(eq, last + 20 * MIN, [5.0, 5.0, 5.0])
    [e] = _silent(eq)
    assert e.end is None  # the readings showed no gap: nothing for the engine to end
    assert services.silent_check() == {"opened": 0, "resumed": 1, "silent": 0}
    [e] = _silent(eq)
    assert e.end == last + 20 * MIN and e.last_seen <= e.end
    assert StaffAlert.objects.filter(excursion=e, resolved_at__isnull=True).count() == 0


def test_a_sensor_of_a_unit_out_of_use_or_that_never_reported_is_left_alone(site, eq, monkeypatch):
    services.sensor_default(equipment=eq)
    _at(monkeypatch, site.now + 5 * 60 * MIN)
    assert services.silent_check()["opened"] == 0  # never reported: nothing to date a silence from
    feed(eq, site.now, [5.0])
    eq.status = "repair"
    eq.save(update_fields=["status"])
    assert services.silent_check()["opened"] == 0


def test_the_worker_runs_the_check_every_few_minutes_as_configured(db, settings):
    from django_q.models import Schedule

    from vaxops.coldchain.apps import _after_migrate

    func = "vaxops.coldchain.tasks.silent_check"
    Schedule.objects.filter(func=func).delete()
    settings.VAXOPS_COLDCHAIN = {"silent_check_minutes": 5}
    _after_migrate(sender=None)
    s = Schedule.objects.get(func=func)
    assert (s.schedule_type, s.minutes, s.repeats) == (Schedule.MINUTES, 5, -1)
    settings.VAXOPS_COLDCHAIN = {}
    _after_migrate(sender=None)
    assert Schedule.objects.get(func=func).minutes == 15  # the default, taken by the existing schedule
    from vaxops.coldchain import tasks

    assert tasks.silent_check() == {"opened": 0, "resumed": 0, "silent": 0}

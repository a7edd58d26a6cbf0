"""A township confirms its daily report by 17:00; the 17:00 job marks the others; corrections are versions."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from vaxops.accounts.services import user_create
from vaxops.audit.models import AuditEvent
from vaxops.core.errors import PermissionDenied, ValidationFailed
from vaxops.jurisdictions.models import Division
from vaxops.reports import services, tasks
from vaxops.reports.models import DailyReport, DailyReportLate

from .conftest import DAY, dose

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def township_a(county):
    return user_create(
        username="tw_a",
        password="x-Password-1",
        role="township_worker",
        division=Division.objects.get(code="330199001000"),
    )


@pytest.fixture
def now(monkeypatch):
    """Set the project's clock: ``now(at(16, 30))``."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr("vaxops.core.clock.now", lambda: moment)

    set_to(at(16, 30))
    return set_to


def test_a_township_confirms_its_figures_before_five_and_they_are_kept_as_they_were(history, township_a, now):
    report = services.daily_report_confirm(
        actor=township_a, township_code="330199001", day=DAY, note="已核对"
    )
    assert (report.version, report.late, report.note) == (1, False, "已核对")
    assert report.figures["doses_today"] == 2 and report.figures["people_first_dose_cumulative"] == 2
    event = AuditEvent.objects.get(action="daily_report.confirm")
    assert event.new["figures"]["doses_today"] == 2
    # A dose recorded later does not change what was confirmed.
    dose(history[4], DAY)
    report.refresh_from_db()
    assert report.figures["doses_today"] == 2


def test_a_second_confirmation_is_refused_and_a_correction_needs_its_reason(history, township_a, now):
    services.daily_report_confirm(actor=township_a, township_code="330199001", day=DAY)
    with pytest.raises(ValidationFailed) as refused:
        services.daily_report_confirm(actor=township_a, township_code="330199001", day=DAY)
    assert refused.value.code == "report_already_confirmed" and refused.value.field == "reason"
    now(at(18, 5))
    second = services.daily_report_confirm(
        actor=township_a, township_code="330199001", day=DAY, reason="补录一名外地接种者"
    )
    assert (second.version, second.reason, second.late) == (2, "补录一名外地接种者", True)
    assert DailyReport.objects.filter(day=DAY).count() == 2
    assert AuditEvent.objects.filter(action="daily_report.correct").count() == 1


def test_a_township_cannot_confirm_another_nor_a_day_to_come(history, township_a, now):
    with pytest.raises(PermissionDenied):
        services.daily_report_confirm(actor=township_a, township_code="330199002", day=DAY)
    with pytest.raises(ValidationFailed) as future:
        services.daily_report_confirm(actor=township_a, township_code="330199001", day=date(2021, 6, 11))
    assert future.value.code == "report_day_future"
    assert not DailyReport.objects.exists()


def test_a_village_worker_may_not_confirm(history, worker_a, now):
    with pytest.raises(PermissionDenied):
        services.daily_report_confirm(actor=worker_a, township_code="330199001", day=DAY)


def test_the_five_oclock_job_marks_only_townships_that_have_not_confirmed_once(history, township_a, now):
    services.daily_report_confirm(actor=township_a, township_code="330199001", day=DAY)
    now(at(17, 0))
    assert services.daily_reports_mark_late(day=DAY) == ["330199002000"]
    assert list(DailyReportLate.objects.values_list("township__code", flat=True)) == ["330199002000"]
    assert services.daily_reports_mark_late(day=DAY) == []  # the job run twice marks nothing twice
    assert AuditEvent.objects.filter(action="daily_report.late").count() == 1
    # The scheduled task runs for today by the project's clock.
    now(at(17, 0, day=date(2021, 6, 11)))
    assert tasks.daily_reports_mark_late() == 2


def test_the_job_is_scheduled_for_five_in_the_afternoon(db):
    from django_q.models import Schedule

    job = Schedule.objects.get(func="vaxops.reports.tasks.daily_reports_mark_late")
    assert job.schedule_type == "D"
    assert job.next_run.astimezone(SHANGHAI).hour == 17

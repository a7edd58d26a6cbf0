"""The 日报表 counted from the records: CLI, API and selector give the same numbers."""

import io
import json
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from vaxops.accounts.scope import Scope, scope_for
from vaxops.clinic.models import Dose
from vaxops.core.errors import PermissionDenied
from vaxops.jurisdictions.models import Division
from vaxops.reports.models import Population
from vaxops.reports.selectors import daily_report
from vaxops.reports.services import facts_apply

from .conftest import DAY

ALL = Scope(unrestricted=True)


def _rows(report):
    return {r["division"]: r for r in report["rows"]}


def test_each_township_counts_standing_doses_and_first_doses_where_people_live(history):
    report = daily_report(scope=ALL, day=DAY, division_code="330199")
    assert report["division"] == "330199000000" and report["date"] == "2021-06-10"
    a, b = _rows(report)["330199001000"], _rows(report)["330199002000"]
    assert (a["doses_today"], a["doses_cumulative"]) == (2, 3)
    assert (a["people_first_dose_today"], a["people_first_dose_cumulative"]) == (1, 2)
    assert a["people_60_plus_first_dose_cumulative"] == 1 and a["booster_doses_cumulative"] == 0
    assert (b["doses_today"], b["doses_cumulative"], b["booster_doses_cumulative"]) == (1, 2, 1)
    assert (b["people_first_dose_today"], b["people_first_dose_cumulative"]) == (0, 1)
    total = report["total"]
    assert (total["doses_today"], total["doses_cumulative"], total["people_first_dose_cumulative"]) == (
        3,
        5,
        3,
    )


def test_the_day_before_knows_nothing_of_later_doses(history):
    report = daily_report(scope=ALL, day=DAY - timedelta(days=1), division_code="330199")
    assert report["total"]["doses_cumulative"] == 2
    assert report["total"]["people_first_dose_cumulative"] == 2
    assert report["total"]["doses_today"] == 0


def test_voiding_a_first_dose_moves_the_person_first_dose_to_the_next(history):
    wang = history[0]
    first = Dose.objects.get(resident=wang, given_on=date(2021, 5, 20))
    first.voided_at, first.void_reason = timezone.now(), "录入错误"
    first.save()
    facts_apply(resident_ids=[wang.pk])
    a = _rows(daily_report(scope=ALL, day=DAY, division_code="330199"))["330199001000"]
    assert (a["people_first_dose_today"], a["people_first_dose_cumulative"], a["doses_cumulative"]) == (
        2,
        2,
        2,
    )


def test_coverage_is_against_the_registered_population_of_the_year_or_the_latest_before(history):
    Population.objects.create(
        division=Division.objects.get(code="330199001000"),
        year=2020,
        kind="registered",
        total=8,
        age_18_plus=6,
        age_60_plus=2,
    )
    Population.objects.create(  # a 常住 row is not the denominator of the daily report
        division=Division.objects.get(code="330199001000"),
        year=2021,
        kind="resident",
        total=1000,
        age_18_plus=900,
        age_60_plus=100,
    )
    a = _rows(daily_report(scope=ALL, day=DAY, division_code="330199"))["330199001000"]
    assert (a["population"], a["coverage_first_dose"]) == (8, "25.0%")
    assert a["coverage_60_plus_first_dose"] == "50.0%"
    b = _rows(daily_report(scope=ALL, day=DAY, division_code="330199"))["330199002000"]
    assert b["population"] is None and b["coverage_first_dose"] is None


def test_a_township_worker_sees_their_township_and_is_refused_the_county(history, village_a1):
    from vaxops.accounts.services import user_create

    township = user_create(
        username="tw",
        password="x-Password-1",
        role="township_worker",
        division=Division.objects.get(code="330199001000"),
    )
    scope = scope_for(township)
    report = daily_report(scope=scope, day=DAY)
    assert report["division"] == "330199001000" and [r["division"] for r in report["rows"]] == [
        "330199001000"
    ]
    with pytest.raises(PermissionDenied):
        daily_report(scope=scope, day=DAY, division_code="330199")
    with pytest.raises(PermissionDenied):
        daily_report(scope=scope, day=DAY, division_code="330199002")


def test_the_command_prints_the_same_numbers_as_json(history):
    out = io.StringIO()
    call_command("report", "daily", "--date", "2021-06-10", "--division", "330199", "--json", stdout=out)
    printed = json.loads(out.getvalue())
    assert printed == json.loads(json.dumps(daily_report(scope=ALL, day=DAY, division_code="330199")))
    assert {
        "doses_today",
        "people_first_dose_today",
        "doses_cumulative",
        "people_first_dose_cumulative",
        "booster_doses_cumulative",
    } <= set(printed["rows"][0])
    text = io.StringIO()
    call_command("report", "daily", "--date", "2021-06-10", "--division", "330199", stdout=text)
    assert "合计" in text.getvalue() and "甲镇" in text.getvalue()


def test_the_api_answers_the_county_planner_and_refuses_outside_the_scope(history, client, cdc, worker_a):
    client.force_login(cdc)
    answer = client.get("/api/v1/reports/daily", {"date": "2021-06-10", "division": "330199"})
    assert answer.status_code == 200
    assert answer.json()["total"]["doses_cumulative"] == 5
    bad = client.get("/api/v1/reports/daily", {"date": "2021-06-10", "division": "330299"})
    assert bad.status_code == 404
    client.force_login(worker_a)  # a village worker does not read the progress reports
    assert client.get("/api/v1/reports/daily", {"date": "2021-06-10"}).status_code == 403


def test_the_facts_give_the_same_report_as_a_recount_of_the_records(history):
    for day in (DAY - timedelta(days=30), DAY - timedelta(days=1), DAY, DAY + timedelta(days=1)):
        from_facts = daily_report(scope=ALL, day=day, division_code="330199")
        recounted = daily_report(scope=ALL, day=day, division_code="330199", recount=True)
        assert from_facts == recounted
    a = _rows(daily_report(scope=ALL, day=DAY, division_code="330199"))["330199001000"]
    # 王芳: dose 1 on 20 May, dose 2 today (completes); 李强 (60+): dose 1 today
    assert (a["dose1_today"], a["dose2_today"], a["dose1_cumulative"], a["dose2_cumulative"]) == (1, 1, 2, 1)
    assert (a["people_completed_today"], a["people_completed_cumulative"]) == (1, 1)
    b = _rows(daily_report(scope=ALL, day=DAY, division_code="330199"))["330199002000"]
    assert (b["booster_doses_today"], b["people_booster_cumulative"], b["adverse_events_today"]) == (1, 1, 0)


def test_a_third_dose_of_a_two_dose_product_counts_as_a_booster(history):
    from .conftest import dose

    wang = history[0]
    dose(wang, DAY + timedelta(days=200))
    later = DAY + timedelta(days=200)
    a = _rows(daily_report(scope=ALL, day=later, division_code="330199"))["330199001000"]
    assert (a["booster_doses_today"], a["dose3_cumulative"], a["people_booster_cumulative"]) == (1, 0, 1)
    assert (
        a == _rows(daily_report(scope=ALL, day=later, division_code="330199", recount=True))["330199001000"]
    )


def test_coverage_against_the_target_of_the_phases_begun(history):
    from vaxops.catalog.models import Phase, PhaseTarget

    phase = Phase.objects.filter(starts_on__lte=DAY).order_by("starts_on").first()
    PhaseTarget.objects.create(
        phase=phase, division=Division.objects.get(code="330199001000"), target_people=4, target_doses=6
    )
    a = _rows(daily_report(scope=ALL, day=DAY, division_code="330199"))["330199001000"]
    assert (a["target_people"], a["coverage_target_people"]) == (4, "50.0%")
    assert (a["target_doses"], a["coverage_target_doses"]) == (6, "50.0%")

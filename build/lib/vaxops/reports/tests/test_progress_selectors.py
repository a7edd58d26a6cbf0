"""The dashboard's reads come from the facts and agree with the daily report and with a recount."""

from datetime import date, timedelta

import pytest

from vaxops.accounts.scope import Scope, scope_for
from vaxops.core.errors import PermissionDenied
from vaxops.jurisdictions.models import Division
from vaxops.reports import selectors
from vaxops.reports.models import Population

from .conftest import DAY

ALL = Scope(unrestricted=True)


def test_dose_series_counts_each_day_by_dose_kind_with_every_day_present(history):
    series = selectors.dose_series(scope=ALL, start=date(2021, 5, 19), end=DAY + timedelta(days=1))
    days = {d["date"]: d for d in series["days"]}
    assert len(days) == (DAY + timedelta(days=1) - date(2021, 5, 19)).days + 1
    assert days["2021-05-19"]["total"] == 0
    assert (days["2021-05-20"]["dose1"], days["2021-05-20"]["total"]) == (1, 1)
    today = days[DAY.isoformat()]
    # 王芳's dose 2, 李强's dose 1, 赵敏's booster (钱进's voided dose is not counted)
    assert (today["dose1"], today["dose2"], today["booster"], today["total"]) == (1, 1, 1, 3)
    assert days["2021-06-11"]["dose1"] == 1


def test_coverage_by_division_lists_townships_then_a_township_villages(history):
    Population.objects.create(
        division=Division.objects.get(code="330199001000"),
        year=2021,
        kind="registered",
        total=10,
        age_18_plus=8,
        age_60_plus=2,
    )
    county = selectors.coverage_by_division(scope=ALL, day=DAY)
    rows = {r["division"]: r for r in county["rows"]}
    a = rows["330199001000"]
    assert (a["people_first_dose"], a["people_completed"], a["people_booster"]) == (2, 1, 0)
    assert (a["population"], a["coverage_first_dose"], a["coverage_completed"]) == (10, "20.0%", "10.0%")
    assert rows["330199002000"]["people_booster"] == 1
    report = selectors.daily_report(scope=ALL, day=DAY)
    assert county["total"]["people_first_dose"] == report["total"]["people_first_dose_cumulative"]
    assert county["total"]["people_completed"] == report["total"]["people_completed_cumulative"]
    villages = selectors.coverage_by_division(scope=ALL, day=DAY, division_code="330199001")
    by_village = {r["division"]: r["people_first_dose"] for r in villages["rows"]}
    assert by_village["330199001001"] == 1 and by_village["330199001002"] == 1


def test_bands_groups_funnel_and_running_totals(history):
    bands = {r["band"]: r for r in selectors.coverage_by_band(scope=ALL, day=DAY)["rows"]}
    assert bands[70]["people_first_dose"] == 1  # 李强, born 1950
    assert bands[18]["people_first_dose"] == 2 and bands[18]["people_booster"] == 1
    groups = selectors.coverage_by_group(scope=ALL, day=DAY)["rows"]
    assert sum(r["people_first_dose"] for r in groups) == 3
    steps = selectors.funnel(scope=ALL, day=DAY)["steps"]
    assert [s["people"] for s in steps] == [3, 1, 1]
    totals = selectors.running_totals(scope=ALL, day=DAY)
    assert (totals["people_first_dose"], totals["doses"], totals["doses_today"]) == (3, 5, 3)
    earlier = selectors.running_totals(scope=ALL, day=DAY - timedelta(days=1))
    assert (earlier["people_first_dose"], earlier["doses"]) == (2, 2)


def test_a_township_user_sees_its_township_only(history, village_a1):
    from vaxops.accounts.services import user_create

    user = user_create(
        username="tw2",
        password="x-Password-1",
        role="township_worker",
        division=Division.objects.get(code="330199001000"),
    )
    scope = scope_for(user)
    assert selectors.running_totals(scope=scope, day=DAY)["people_first_dose"] == 2
    assert selectors.funnel(scope=scope, day=DAY)["division"] == "330199001000"
    with pytest.raises(PermissionDenied):
        selectors.coverage_by_division(scope=scope, day=DAY, division_code="330199")

"""The progress facts' benchmark runs at a tiny size, reports every figure and leaves the facts exact."""

import pytest

pytestmark = pytest.mark.django_db


def test_reports_bench_reports_every_figure_and_the_facts_check():
    from vaxops.benchmarks.reports import reports_bench
    from vaxops.reports.models import PersonProgress
    from vaxops.reports.services import facts_check

    report = reports_bench(people=400, log=lambda _: None)
    assert report["doses"] == 800 and report["check_ok"] is True
    for key in (
        "county_dashboard_ms",
        "township_dashboard_ms",
        "county_daily_report_ms",
        "raw_group_by_county_ms",
        "raw_daily_report_recount_ms",
        "rebuild_s",
        "dose_with_facts_ms",
        "dose_without_facts_ms",
        "facts_apply_ms",
    ):
        assert report[key] >= 0, key
    assert PersonProgress.objects.count() == 400
    assert facts_check()["ok"]

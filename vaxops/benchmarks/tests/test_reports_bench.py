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


def test_per_dose_only_needs_an_earlier_run_then_measures_on_its_people():
    from vaxops.benchmarks.reports import reports_bench

    with pytest.raises(RuntimeError, match="earlier run"):
        reports_bench(people=400, doses=30, log=lambda _: None, per_dose_only=True)
    reports_bench(people=400, doses=30, log=lambda _: None)
    report = reports_bench(people=400, doses=30, log=lambda _: None, per_dose_only=True)
    assert report["people"] == 400 and report["check_ok"] is True
    assert report["per_dose_sample"] == 30
    assert report["dose_with_facts_ms"] > 0 and report["facts_apply_ms"] > 0
    # CPU per dose beside the wall time (this process and, on PostgreSQL here, its backend)
    assert report["dose_with_facts_cpu_ms"] > 0 and report["facts_apply_cpu_ms"] > 0
    assert report["database_cpu_measured"] is True

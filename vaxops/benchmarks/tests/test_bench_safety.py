"""``vaxops bench safety`` runs end to end at a small size: the doses and reports it builds, the daily run's
signals and clusters, and the case page opened in-process."""

import json

import pytest
from django.core.management import call_command

from vaxops.safety.models import AdverseEventReport


@pytest.fixture
def bench_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.DEBUG = False
    return tmp_path


def test_bench_safety_times_the_daily_run_and_opening_a_case(db, bench_dir, capsys):
    call_command("bench", "safety", "--rows", "2000", "--reports", "300", "--json")
    out = json.loads(capsys.readouterr().out)
    assert (out["doses"], out["reports"]) == (2000, 300) == (out["doses"], AdverseEventReport.objects.count())
    assert out["daily_s"] > 0 and out["open_report_ms"] > 0
    # 300 reports over 2,000 doses are far above any background rate: every watched outcome signals somewhere
    assert out["signals_opened"] >= 1
    assert isinstance(out["clusters_found"], int)
    # the tally counted every standing dose; the daily runs, with a day's doses added before each, still
    # count every standing dose (the tally plus the recent part); the day's doses are gone afterwards
    assert out["tallied_doses"] == 2000 and out["doses_counted_equal_standing"] is True
    assert out["page_statements"] > 0 and out["raw_page_ms"] >= 0 and out["raw_daily_s"] >= 0
    from vaxops.clinic.models import Dose

    assert not Dose.objects.filter(place="基准-当日").exists()

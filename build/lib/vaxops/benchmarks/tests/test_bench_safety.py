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

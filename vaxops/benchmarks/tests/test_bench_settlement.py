"""``vaxops bench settlement`` runs end to end at a small size: the month's doses and ledger it builds, the
settlement of every site, and the raw database's sum of the same doses agreeing with it."""

import json

import pytest
from django.core.management import call_command


@pytest.fixture
def bench_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.DEBUG = False
    return tmp_path


def test_bench_settlement_settles_the_month_like_the_raw_sum(db, bench_dir, capsys):
    call_command("bench", "settlement", "--rows", "3000", "--sites", "6", "--json")
    out = json.loads(capsys.readouterr().out)
    assert (out["doses"], out["sites"], out["lines_settled"], out["raw_doses"]) == (3000, 6, 3000, 3000)
    assert out["same_as_raw"] is True
    assert out["reconciled_sites"] == 6
    # Timed (seconds to two places: the raw sum of 3,000 doses can round to 0.0 on an idle machine).
    assert out["settle_s"] > 0 and out["raw_sum_s"] >= 0 and isinstance(out["raw_sum_s"], float)

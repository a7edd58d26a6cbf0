"""``vaxops bench codes`` and ``vaxops bench trace`` run end to end at a small size and check their own counts."""

import json

import pytest
from django.core.management import CommandError, call_command

from vaxops.supply.models import TraceCode


@pytest.fixture
def bench_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.DEBUG = False
    return tmp_path


def _run(capsys, *args) -> dict:
    call_command("bench", *args, "--json")
    return json.loads(capsys.readouterr().out)


def test_bench_codes_imports_every_row_and_measures_the_raw_database(db, bench_dir, capsys):
    out = _run(capsys, "codes", "--rows", "2000")

    assert out["counts"] == {"read": 2000, "created": 2000, "updated": 0, "unchanged": 0, "rejected": 0}
    assert out["codes_in_database"] == 2000 == TraceCode.objects.count()
    assert out["lots"] == 2
    assert out["raw_insert_rows_per_s"] > 0 and out["import_rows_per_s"] > 0
    assert ("raw_copy_rows_per_s" in out) == out["database"].startswith("postgresql")
    assert (
        (bench_dir / "bench" / "codes-2000-1.csv")
        .read_text(encoding="utf-8")
        .startswith("追溯码,批号,疫苗品种,有效期至")
    )


def test_bench_trace_traces_a_lot_as_a_county_planner_beside_the_raw_queries(db, bench_dir, capsys):
    out = _run(capsys, "trace", "--doses", "500")

    assert (out["doses"], out["administered_total"], out["administered_hidden"]) == (500, 500, 0)
    assert out["recipients_listed"] == 500
    assert out["by_state"] == {"in_stock": 2500, "in_transit": 500, "administered": 500}
    assert out["lot_codes"] == 3500 and out["places"] == 4
    assert out["lot_trace_ms_median"] > 0 and out["raw_sql_ms_median"] > 0

    again = _run(capsys, "trace", "--doses", "500")  # the lot is there: traced again, not rebuilt
    assert again["setup_seconds"] == 0 and again["administered_total"] == 500


def test_bench_refuses_to_run_with_debug(db, bench_dir, settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="VAXOPS_DEBUG=0"):
        call_command("bench", "codes", "--rows", "10")

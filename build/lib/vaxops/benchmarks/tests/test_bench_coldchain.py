"""``vaxops bench coldchain`` end to end at a small size, checking its own counts."""

import json

from django.core.management import call_command

from vaxops.benchmarks import coldchain as bench
from vaxops.coldchain import domain


def test_bench_coldchain_stores_every_reading_beside_the_raw_database(db, settings, capsys):
    settings.DEBUG = False
    call_command("bench", "coldchain", "--rows", "3000", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["counts"] == {"read": 3000, "stored": 3000, "unchanged": 0, "rejected": 0}
    assert out["readings_in_database"] == 3000
    assert out["raw_rows_per_s"] > 0 and out["bulk_rows_per_s"] > 0


def test_the_bench_finds_the_freezes_the_engine_finds(db):
    out = bench.coldchain_bench(readings=4 * 1440, sensors=4, log=lambda _text: None)
    units = bench._units(4)
    items = bench._series(units, 4 * 1440, 1)
    expected = sum(
        1
        for s in units
        for e in domain.excursions([domain.Reading(i.at, i.celsius) for i in items if i.sensor.pk == s.pk])
        if e.kind is domain.ExcursionKind.FREEZE
    )
    assert expected >= 3 and out["excursions"]["freeze"] == expected

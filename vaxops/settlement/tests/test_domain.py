"""The pure money rules: rounding half up to the fen, versions in force and their segments in a month, totals
with the old channel and adjustments apart, the reconciliation's verdict and the status moves."""

import datetime as dt
from decimal import Decimal

import pytest

from vaxops.settlement import domain

D = Decimal


def test_yuan_rounds_half_up_and_refuses_floats():
    assert domain.yuan(D("3.015")) == D("3.02")
    assert domain.yuan(D("3.0149")) == D("3.01")
    assert domain.yuan(D("-3.015")) == D("-3.02")
    assert str(domain.yuan(10)) == "10.00"
    with pytest.raises(TypeError):
        domain.yuan(0.1)  # type: ignore[arg-type]


def test_month_bounds_and_parsing():
    assert domain.month_bounds(dt.date(2024, 2, 10)) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert domain.parse_month("2026-11") == dt.date(2026, 11, 1)
    assert domain.next_month(dt.date(2026, 12, 1)) == dt.date(2027, 1, 1)
    for bad in ("2026-1", "202611", "2026-13", "x"):
        with pytest.raises(ValueError):
            domain.parse_month(bad)


def test_segments_cut_the_month_where_a_version_takes_effect():
    v = [domain.Version(dt.date(2021, 1, 1), "a"), domain.Version(dt.date(2026, 11, 16), "b")]
    segs = domain.segments(v, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert [(s.start.day, s.end.day, s.value) for s in segs] == [(1, 15, "a"), (16, 30, "b")]
    assert domain.in_force(v, dt.date(2026, 11, 15)) == "a"
    assert domain.in_force(v, dt.date(2020, 1, 1)) is None
    late = domain.segments(
        [domain.Version(dt.date(2026, 11, 5), "x")], dt.date(2026, 11, 1), dt.date(2026, 11, 30)
    )
    assert domain.uncovered_from(late, dt.date(2026, 11, 1)) == dt.date(2026, 11, 1)
    assert domain.uncovered_from(segs, dt.date(2026, 11, 1)) is None


def test_totals_keep_the_old_channel_and_adjustments_apart():
    t = domain.totals(
        [
            domain.Group("dose", "fund", 3, D("280.50"), D("30.00")),
            domain.Group("dose", "old", 1, D("93.50"), D("10.00")),
            domain.Group("adjustment", "fund", 1, D("-93.50"), D("-10.00")),
        ],
        D("0.3"),
    )
    assert (t.doses, t.old_channel_doses, t.adjustment_lines) == (2, 1, 1)
    assert (t.service_fee, t.vaccine_cost, t.payable) == (D("20.00"), D("187.00"), D("207.00"))
    assert t.fiscal_subsidy == D("62.10")
    assert t.old_channel_amount == D("103.50") and t.adjustment_amount == D("-103.50")


def test_channel_mask_reconcile_and_moves():
    assert domain.channel(dt.date(2021, 1, 8), dt.date(2021, 1, 9)) == "old"
    assert domain.channel(dt.date(2021, 1, 9), dt.date(2021, 1, 9)) == "fund"
    assert domain.mask_code("83012345678901234567") == "8301****4567"
    ok, rows = domain.reconcile([domain.LotCount("B", 3, 2, 1), domain.LotCount("A", 1, 1, 0)])
    assert ok and [r.lot for r in rows] == ["A", "B"]
    assert not domain.reconcile([domain.LotCount("A", 1, 2, 0)])[0]
    assert domain.can_move("draft", "confirmed") and domain.can_move("confirmed", "draft")
    assert not domain.can_move("approved", "draft") and not domain.can_move("paid", "approved")
    assert not domain.can_move("draft", "approved")

"""The excursion engine at its boundaries, and its independence from the order readings arrive in."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxops.coldchain import domain
from vaxops.coldchain.domain import ExcursionKind, Reading, Rules

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def series(temps, *, every=1, start=T0):
    return [Reading(start + dt.timedelta(minutes=i * every), Decimal(str(c))) for i, c in enumerate(temps)]


def kinds(found):
    return [e.kind for e in found]


def test_59_minutes_of_freeze_open_nothing_60_do():
    # 60 readings a minute apart at −1 °C span 59 minutes; the 61st makes it 60.
    before = [5.0]
    after = [5.0]
    found59 = domain.excursions(series(before + [-1.0] * 60 + after))
    found60 = domain.excursions(series(before + [-1.0] * 61 + after))
    assert ExcursionKind.FREEZE not in kinds(found59)
    freezes = [e for e in found60 if e.kind is ExcursionKind.FREEZE]
    assert len(freezes) == 1
    f = freezes[0]
    assert f.start == T0 + dt.timedelta(minutes=1)
    assert f.duration == dt.timedelta(minutes=60)
    assert f.end == T0 + dt.timedelta(minutes=62)
    assert f.extreme == Decimal("-1.00")


def test_freeze_limit_is_at_or_below_minus_half_a_degree():
    at_limit = domain.excursions(series([-0.5] * 61))
    above = domain.excursions(series([-0.4] * 61))
    assert ExcursionKind.FREEZE in kinds(at_limit)
    assert ExcursionKind.FREEZE not in kinds(above)
    assert ExcursionKind.WARNING in kinds(above)  # still outside 2–8 °C


def test_heat_needs_ten_hours_above_eight():
    nine_59 = domain.excursions(series([8.1] * 600, every=1))  # 599 minutes
    ten = domain.excursions(series([8.1] * 601, every=1))
    at_eight = domain.excursions(series([8.0] * 700, every=1))
    assert ExcursionKind.HEAT not in kinds(nine_59)
    heat = [e for e in ten if e.kind is ExcursionKind.HEAT]
    assert len(heat) == 1 and heat[0].ongoing and heat[0].duration == dt.timedelta(hours=10)
    assert at_eight == ()


def test_any_reading_outside_the_range_is_a_warning_and_the_extreme_is_the_furthest():
    found = domain.excursions(series([5, 1.5, 9.5, 5, 5, 1.9, 5]))
    warnings = [e for e in found if e.kind is ExcursionKind.WARNING]
    assert [(w.start, w.extreme, w.readings) for w in warnings] == [
        (T0 + dt.timedelta(minutes=1), Decimal("9.50"), 2),
        (T0 + dt.timedelta(minutes=5), Decimal("1.90"), 1),
    ]


def test_rules_are_per_unit():
    rules = Rules(
        low_c=Decimal("-25"),
        high_c=Decimal("-15"),
        freeze_at_or_below_c=Decimal("-60"),
        heat_above_c=Decimal("-15"),
        heat_minutes=30,
    )
    found = domain.excursions(series([-20] * 10 + [-10] * 31), rules)
    assert ExcursionKind.HEAT in kinds(found)
    assert ExcursionKind.FREEZE not in kinds(found)


def test_a_gap_longer_than_the_silent_time_breaks_a_run_and_is_a_silent_excursion():
    readings = series([-1.0] * 40) + series([-1.0] * 40, start=T0 + dt.timedelta(minutes=120))
    found = domain.excursions(readings)
    assert ExcursionKind.FREEZE not in kinds(found)  # 39 + 39 minutes, not continuous
    silent = [e for e in found if e.kind is ExcursionKind.SILENT]
    assert len(silent) == 1
    assert silent[0].start == T0 + dt.timedelta(minutes=39)
    assert silent[0].end == T0 + dt.timedelta(minutes=120)


def test_silent_now():
    readings = series([5.0] * 3)
    assert domain.excursions(readings, now=T0 + dt.timedelta(minutes=62)) == ()
    found = domain.excursions(readings, now=T0 + dt.timedelta(minutes=63))
    assert kinds(found) == [ExcursionKind.SILENT] and found[0].ongoing


def test_same_moment_twice_keeps_the_alarming_reading_whatever_the_order():
    a = [Reading(T0, Decimal("5")), Reading(T0, Decimal("-3"))]
    assert domain.excursions(a) == domain.excursions(list(reversed(a)))
    assert domain.excursions(a)[0].extreme == Decimal("-3.00")


def test_rules_refuse_nonsense():
    with pytest.raises(ValueError):
        Rules(low_c=Decimal("8"), high_c=Decimal("2"))
    with pytest.raises(ValueError):
        Rules(freeze_minutes=0)


def test_readings_need_a_zone():
    with pytest.raises(ValueError):
        Reading(dt.datetime(2026, 1, 1), Decimal("5"))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("raw", "value"), [("4.5", Decimal("4.50")), ("-0.5℃", Decimal("-0.50")), (3, Decimal("3.00"))]
)
def test_parse_celsius(raw, value):
    assert domain.parse_celsius(raw) == value


@pytest.mark.parametrize("raw", ["", None, "abc", "NaN", "inf", "120", True])
def test_parse_celsius_refuses(raw):
    with pytest.raises(ValueError):
        domain.parse_celsius(raw)


temps = st.one_of(
    st.sampled_from([Decimal("-1.0"), Decimal("-0.5"), Decimal("5.0"), Decimal("8.5"), Decimal("1.0")]),
    st.decimals(min_value=-5, max_value=15, places=1),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(min_value=0, max_value=900), temps), min_size=1, max_size=120),
    st.randoms(use_true_random=False),
)
def test_out_of_order_readings_give_the_same_excursions(points, rnd):
    readings = [Reading(T0 + dt.timedelta(minutes=m), c) for m, c in points]
    shuffled = list(readings)
    rnd.shuffle(shuffled)
    rules = Rules(heat_minutes=30)
    now = T0 + dt.timedelta(minutes=1000)
    assert domain.excursions(shuffled, rules, now=now) == domain.excursions(readings, rules, now=now)


@settings(max_examples=100, deadline=None)
@given(st.permutations(series([5] * 5 + [-1] * 70 + [5] * 5 + [9] * 20 + [-2] * 61)))
def test_a_known_series_in_any_order(readings):
    found = domain.excursions(readings)
    assert [e.kind for e in found if e.kind is ExcursionKind.FREEZE] == [ExcursionKind.FREEZE] * 2


def test_status_moves_one_step_forward():
    S = domain.ExcursionStatus
    assert S.OPEN.can_become(S.ACKNOWLEDGED)
    assert not S.OPEN.can_become(S.ASSESSED)
    assert not S.CLOSED.can_become(S.OPEN)


def test_manual_log_missing():
    tz = dt.timezone(dt.timedelta(hours=8))
    day = dt.date(2026, 12, 1)
    am = dt.datetime(2026, 12, 1, 8, 30, tzinfo=tz)
    pm_close = dt.datetime(2026, 12, 1, 14, 0, tzinfo=tz)
    pm_ok = dt.datetime(2026, 12, 1, 14, 30, tzinfo=tz)
    at_11 = dt.datetime(2026, 12, 1, 11, 0, tzinfo=tz)
    at_19 = dt.datetime(2026, 12, 1, 19, 0, tzinfo=tz)
    M, A = domain.ManualSlot.MORNING, domain.ManualSlot.AFTERNOON
    assert domain.manual_log_missing([], day=day, local_now=at_11) == ()
    assert domain.manual_log_missing([], day=day, local_now=at_19) == (M, A)
    assert domain.manual_log_missing([am, pm_close], day=day, local_now=at_19) == (A,)
    assert domain.manual_log_missing([am, pm_ok], day=day, local_now=at_19) == ()

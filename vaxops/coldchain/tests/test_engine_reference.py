"""The one-pass engine gives exactly what the first engine gave (three passes, one per kind, and one for the
silences): that engine is kept here, written as it was, as the reference for random series."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from vaxops.coldchain import domain
from vaxops.coldchain.domain import Excursion, ExcursionKind, Reading, Rules

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def _distance_outside(c: Decimal, rules: Rules) -> Decimal:
    if c < rules.low_c:
        return rules.low_c - c
    if c > rules.high_c:
        return c - rules.high_c
    return Decimal(0)


def _runs(readings: Sequence[Reading], kind, rules: Rules, minimum: dt.timedelta) -> list[Excursion]:
    if kind is ExcursionKind.FREEZE:
        meets = rules.freezing
    elif kind is ExcursionKind.HEAT:
        meets = rules.hot
    else:

        def meets(c):
            return not rules.in_range(c)

    gap = dt.timedelta(minutes=rules.silent_minutes)
    found: list[Excursion] = []
    run: list[Reading] = []

    def close(end):
        if not run:
            return
        first, last = run[0], run[-1]
        if last.at - first.at >= minimum:
            temps = [r.celsius for r in run]
            if kind is ExcursionKind.FREEZE:
                extreme = min(temps)
            elif kind is ExcursionKind.HEAT:
                extreme = max(temps)
            else:
                extreme = max(temps, key=lambda c: (_distance_outside(c, rules), c))
            found.append(Excursion(kind, first.at, last.at, end, extreme, len(run)))
        run.clear()

    for r in readings:
        if run and r.at - run[-1].at > gap:
            close(r.at)
        if meets(r.celsius):
            run.append(r)
        else:
            close(r.at)
    close(None)
    return found


def _silences(readings: Sequence[Reading], rules: Rules, now) -> list[Excursion]:
    gap = dt.timedelta(minutes=rules.silent_minutes)
    found = [
        Excursion(ExcursionKind.SILENT, a.at, a.at, b.at, None, 0)
        for a, b in zip(readings, readings[1:], strict=False)
        if b.at - a.at > gap
    ]
    if now is not None and readings and now - readings[-1].at > gap:
        found.append(Excursion(ExcursionKind.SILENT, readings[-1].at, readings[-1].at, None, None, 0))
    return found


def reference(readings, rules: Rules, now=None) -> tuple[Excursion, ...]:
    by: dict[dt.datetime, Decimal] = {}
    for r in readings:
        seen = by.get(r.at)
        if seen is None:
            by[r.at] = r.celsius
            continue
        low, high = min(seen, r.celsius), max(seen, r.celsius)
        by[r.at] = low if rules.freezing(low) else high
    ordered = [Reading(at, c) for at, c in sorted(by.items())]
    found = [
        *_runs(ordered, ExcursionKind.FREEZE, rules, dt.timedelta(minutes=rules.freeze_minutes)),
        *_runs(ordered, ExcursionKind.HEAT, rules, dt.timedelta(minutes=rules.heat_minutes)),
        *_runs(ordered, ExcursionKind.WARNING, rules, dt.timedelta(0)),
        *_silences(ordered, rules, now),
    ]
    order = list(ExcursionKind)
    return tuple(sorted(found, key=lambda e: (e.start, order.index(e.kind))))


temps = st.one_of(
    st.sampled_from([Decimal("-1.0"), Decimal("-0.5"), Decimal("2.0"), Decimal("8.0"), Decimal("8.5")]),
    st.decimals(min_value=-5, max_value=15, places=1),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(min_value=0, max_value=600), temps), min_size=0, max_size=150),
    st.sampled_from([Rules(), Rules(heat_minutes=20, freeze_minutes=15, silent_minutes=10)]),
    st.booleans(),
)
def test_the_one_pass_engine_finds_what_the_reference_finds(points, rules, with_now):
    readings = [Reading(T0 + dt.timedelta(minutes=m), c) for m, c in points]
    now = T0 + dt.timedelta(minutes=700) if with_now else None
    expected = reference(readings, rules, now)
    assert domain.excursions(readings, rules, now=now) == expected
    if now is None:
        pairs = sorted({r.at: r.celsius for r in reference_normalised(readings, rules)}.items())
        assert domain.excursions_sorted(pairs, rules) == expected


def reference_normalised(readings, rules):
    by: dict[dt.datetime, Decimal] = {}
    for r in readings:
        seen = by.get(r.at)
        if seen is None:
            by[r.at] = r.celsius
        else:
            low, high = min(seen, r.celsius), max(seen, r.celsius)
            by[r.at] = low if rules.freezing(low) else high
    return [Reading(at, c) for at, c in by.items()]


def test_a_long_day_with_every_kind():
    rules = Rules(heat_minutes=30)
    temps = [5] * 10 + [-1] * 70 + [5] * 3 + [9] * 40 + [1.5] * 5 + [5] * 2
    readings = [Reading(T0 + dt.timedelta(minutes=i), Decimal(str(c))) for i, c in enumerate(temps)]
    readings.append(Reading(T0 + dt.timedelta(minutes=300), Decimal("5")))
    found = domain.excursions(readings, rules)
    assert found == reference(readings, rules)
    assert sorted({e.kind for e in found}) == sorted(
        {ExcursionKind.FREEZE, ExcursionKind.HEAT, ExcursionKind.WARNING, ExcursionKind.SILENT}
    )

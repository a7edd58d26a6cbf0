"""Properties of the schedule engine that must hold for any dose history (hypothesis)."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from vaxops.catalog.defaults import CATALOGUE
from vaxops.catalog.domain import (
    ALL,
    Contraindication,
    Deferral,
    Forecast,
    GivenDose,
    MobilisationCategory,
    evaluate,
    mobilisation_category,
)

CODES = [p.code for p in CATALOGUE.products] + ["Comirnaty"]
START = dt.date(2020, 12, 1)
END = dt.date(2023, 6, 30)

dates = st.dates(min_value=START, max_value=END)
doses = st.lists(
    st.builds(GivenDose, product_code=st.sampled_from(CODES), date=dates, external=st.booleans()),
    max_size=6,
)
births = st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2006, 12, 31))
contraindications = st.lists(
    st.builds(
        Contraindication,
        products=st.one_of(
            st.just(ALL), st.lists(st.sampled_from(CODES[:-1]), min_size=1, max_size=3).map(tuple)
        ),
        reason=st.just("禁忌"),
    ),
    max_size=1,
)
deferrals = st.lists(
    st.one_of(
        st.builds(Deferral, until=dates, condition=st.none(), reason=st.just("暂缓")),
        st.builds(Deferral, until=st.none(), condition=st.just("妊娠结束后"), reason=st.just("妊娠")),
    ),
    max_size=2,
)
other_vaccines = st.lists(dates, max_size=2)

# Enough examples to cover every product and both policy versions while keeping the module under 5 s.
FAST = settings(max_examples=100, deadline=None)


def forecast(
    birth: dt.date,
    given_doses: list[GivenDose],
    on: dt.date,
    contra: list[Contraindication] | tuple[Contraindication, ...] = (),
    deferred: list[Deferral] | tuple[Deferral, ...] = (),
    other: list[dt.date] | tuple[dt.date, ...] = (),
) -> Forecast:
    return evaluate(
        birth_date=birth,
        doses=given_doses,
        contraindications=contra,
        deferrals=deferred,
        on=on,
        catalogue=CATALOGUE,
        other_vaccine_dates=other,
    )


@FAST
@given(births, doses, dates, contraindications, deferrals, other_vaccines)
def test_dates_are_ordered(
    birth: dt.date,
    given_doses: list[GivenDose],
    on: dt.date,
    contra: list[Contraindication],
    deferred: list[Deferral],
    other: list[dt.date],
) -> None:
    f = forecast(birth, given_doses, on, contra, deferred, other)
    nd = f.next_dose
    if nd is None:
        return
    assert nd.earliest <= nd.recommended
    if nd.latest is not None:
        assert nd.recommended <= nd.latest
        assert nd.overdue is (on > nd.latest)
    assert nd.allowed_products
    assert nd.number == f.valid_dose_count + 1
    assert mobilisation_category(f, on) in set(MobilisationCategory)


@FAST
@given(births, doses, dates, st.randoms(use_true_random=False))
def test_evaluation_is_deterministic_and_ignores_input_order(
    birth: dt.date, given_doses: list[GivenDose], on: dt.date, rnd: object
) -> None:
    shuffled = list(given_doses)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    first = forecast(birth, given_doses, on)
    assert forecast(birth, given_doses, on) == first
    assert forecast(birth, shuffled, on) == first


@FAST
@given(births, doses, dates)
def test_valid_doses_are_numbered_one_by_one_in_date_order(
    birth: dt.date, given_doses: list[GivenDose], on: dt.date
) -> None:
    f = forecast(birth, given_doses, on)
    valid = f.valid_doses
    assert [d.dose_number for d in valid] == list(range(1, len(valid) + 1))
    assert [d.dose.date for d in f.doses] == sorted(d.date for d in given_doses if d.date <= on)
    assert all(d.dose_number is None for d in f.doses if not d.valid)


# Most random histories have no next dose or no date left before ``on``, so many
# draws are filtered out by assume(); that is expected here, not a weak strategy.
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
)
@given(births, doses, dates, st.integers(0, 120), st.data(), contraindications, deferrals)
def test_adding_a_valid_dose_never_brings_the_next_dose_forward(
    birth: dt.date,
    given_doses: list[GivenDose],
    on: dt.date,
    extra_days: int,
    data: st.DataObject,
    contra: list[Contraindication],
    deferred: list[Deferral],
) -> None:
    before = forecast(birth, given_doses, on, contra, deferred)
    nd = before.next_dose
    assume(nd is not None)
    assert nd is not None
    product = data.draw(st.sampled_from(nd.allowed_products))
    last = max((d.dose.date for d in before.doses), default=START - dt.timedelta(days=1))
    new_date = max(nd.earliest + dt.timedelta(days=extra_days), last + dt.timedelta(days=1))
    assume(new_date <= on)
    after = forecast(birth, [*given_doses, GivenDose(product, new_date, ref="new")], on, contra, deferred)
    added = next(d for d in after.doses if d.dose.ref == "new")
    assume(added.valid)
    assert after.valid_dose_count == before.valid_dose_count + 1
    if after.next_dose is not None:
        assert after.next_dose.number > nd.number
        assert after.next_dose.earliest >= nd.earliest
        assert after.next_dose.recommended >= nd.recommended

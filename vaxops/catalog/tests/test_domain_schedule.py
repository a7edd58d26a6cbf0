"""Dose evaluation, forecasting, eligibility and output formats, table-driven, no database."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest
from fhir.resources.R4B.immunizationrecommendation import ImmunizationRecommendation

from vaxops.catalog.defaults import CATALOGUE, PHASES, POLICIES, PRODUCTS
from vaxops.catalog.domain import (
    ALL,
    BoosterRule,
    Catalogue,
    Contraindication,
    Deferral,
    EligibilityCode,
    Forecast,
    GivenDose,
    Interval,
    MobilisationCategory,
    Phase,
    Platform,
    ReasonCode,
    SchedulePolicy,
    Status,
    add_years,
    age_on,
    booking_eligibility,
    evaluate,
    forecast_to_dict,
    mobilisation_category,
    to_fhir_recommendation,
)

ADULT = dt.date(1980, 6, 15)
D0 = dt.date(2021, 4, 1)
INACT = ("BBIBP-CorV", "WIBP-CorV", "CoronaVac")
ALL_FIVE = (*INACT, "Convidecia", "ZF2001")


def day(n: int, start: dt.date = D0) -> dt.date:
    return start + dt.timedelta(days=n)


def run(
    doses: list[tuple[str, dt.date]],
    on: dt.date,
    *,
    birth: dt.date = ADULT,
    contraindications: tuple[Contraindication, ...] = (),
    deferrals: tuple[Deferral, ...] = (),
    other: tuple[dt.date, ...] = (),
) -> Forecast:
    return evaluate(
        birth_date=birth,
        doses=[GivenDose(code, when) for code, when in doses],
        contraindications=contraindications,
        deferrals=deferrals,
        on=on,
        catalogue=CATALOGUE,
        other_vaccine_dates=other,
    )


def verdicts(f: Forecast) -> list[tuple[bool, int | None, ReasonCode]]:
    return [(d.valid, d.dose_number, d.reason.code) for d in f.doses]


# ------------------------------------------------------------------------------------------------
# The catalogue
# ------------------------------------------------------------------------------------------------


class TestCatalogue:
    @pytest.mark.parametrize(
        ("code", "platform", "mp", "prefix"),
        [
            ("BBIBP-CorV", Platform.INACTIVATED, "BBIBP-CorV", "8100101"),
            ("WIBP-CorV", Platform.INACTIVATED, "WIBP-CorV", "8100201"),
            ("CoronaVac", Platform.INACTIVATED, "CoronaVac", "8100301"),
            ("Convidecia", Platform.ADENOVIRUS, "Convidecia", "8100401"),
            ("ZF2001", Platform.PROTEIN, None, "8100501"),
        ],
    )
    def test_it_holds_the_five_products(
        self, code: str, platform: Platform, mp: str | None, prefix: str
    ) -> None:
        p = CATALOGUE.product(code)
        assert (p.platform, p.dcc_mp, p.trace_prefixes, p.min_age_years) == (platform, mp, (prefix,), 18)
        assert CATALOGUE.product_for_trace_code(prefix + "1234567890123") is p

    def test_it_finds_products_by_dcc_mp_code(self) -> None:
        renamed = Catalogue(
            products=(replace(PRODUCTS[0], code="国药北京"),),
            policies=(),
        )
        assert renamed.product("BBIBP-CorV").code == "国药北京"
        assert renamed.find_product("CoronaVac") is None
        with pytest.raises(KeyError, match="不在目录中"):
            renamed.product("CoronaVac")

    def test_it_returns_none_for_an_unknown_trace_prefix(self) -> None:
        assert CATALOGUE.product_for_trace_code("99999990000000000000") is None

    @pytest.mark.parametrize(
        ("on", "booster_days"),
        [
            (dt.date(2020, 12, 15), 180),  # emergency use before the first version: first version applies
            (dt.date(2021, 6, 1), 180),
            (dt.date(2022, 2, 18), 180),
            (dt.date(2022, 2, 19), 90),
            (dt.date(2024, 1, 1), 90),
        ],
    )
    def test_it_picks_the_policy_version_by_date(self, on: dt.date, booster_days: int) -> None:
        pol = CATALOGUE.policy_for("CoronaVac", on)
        assert pol is not None and pol.booster is not None
        assert pol.booster.min_days_after_primary == booster_days

    def test_it_has_no_policy_in_force_before_2021(self) -> None:
        assert CATALOGUE.policy_in_force("BBIBP-CorV", dt.date(2020, 12, 31)) is None
        assert CATALOGUE.products_in_use(dt.date(2020, 12, 31)) == ()
        assert [p.code for p in CATALOGUE.products_in_use(D0)] == list(ALL_FIVE)

    def test_it_rejects_overlapping_versions(self) -> None:
        first = POLICIES[0]
        overlapping = replace(first, effective_from=dt.date(2021, 6, 1))
        with pytest.raises(ValueError, match="重叠"):
            Catalogue(products=PRODUCTS, policies=(first, overlapping))

    def test_it_rejects_completion_across_platforms(self) -> None:
        bad = SchedulePolicy(
            product_code="BBIBP-CorV",
            effective_from=D0,
            effective_to=None,
            primary_doses=2,
            intervals=(Interval(21, 21),),
            completion_products=("Convidecia",),
        )
        with pytest.raises(ValueError, match="技术路线不同"):
            Catalogue(products=PRODUCTS, policies=(bad,))

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"primary_doses": 2, "intervals": ()},
            {"primary_doses": 0, "intervals": ()},
            {"primary_doses": 1, "intervals": (), "effective_to": dt.date(2020, 1, 1)},
        ],
    )
    def test_it_rejects_inconsistent_policies(self, kwargs: dict[str, object]) -> None:
        base: dict[str, object] = {
            "product_code": "X",
            "effective_from": D0,
            "effective_to": None,
            "completion_products": (),
        }
        with pytest.raises(ValueError):
            SchedulePolicy(**{**base, **kwargs})  # type: ignore[arg-type]

    def test_it_rejects_a_booster_without_products(self) -> None:
        with pytest.raises(ValueError):
            BoosterRule(min_days_after_primary=90, allowed_products=())


# ------------------------------------------------------------------------------------------------
# Ages
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (dt.date(2003, 4, 2), dt.date(2021, 4, 1), 17),
        (dt.date(2003, 4, 1), dt.date(2021, 4, 1), 18),
        (dt.date(2004, 2, 29), dt.date(2022, 2, 28), 17),
        (dt.date(2004, 2, 29), dt.date(2022, 3, 1), 18),
        (dt.date(2004, 2, 29), dt.date(2024, 2, 29), 20),
    ],
)
def test_age_on_counts_completed_years(birth: dt.date, on: dt.date, age: int) -> None:
    assert age_on(birth, on) == age


def test_add_years_maps_29_february_to_1_march() -> None:
    assert add_years(dt.date(2004, 2, 29), 18) == dt.date(2022, 3, 1)
    assert add_years(dt.date(2004, 2, 29), 20) == dt.date(2024, 2, 29)


# ------------------------------------------------------------------------------------------------
# Each product's course: status and next dose
# ------------------------------------------------------------------------------------------------

NEXT_CASES = [
    # id, doses, on, status, (number, allowed, earliest, recommended, latest, overdue) or None
    (
        "nothing-yet",
        [],
        D0,
        Status.NOT_STARTED,
        (1, ALL_FIVE, add_years(ADULT, 18), add_years(ADULT, 18), None, False),
    ),
    (
        "bbibp-1",
        [("BBIBP-CorV", D0)],
        day(1),
        Status.IN_PROGRESS,
        (2, INACT, day(21), day(21), day(56), False),
    ),
    (
        "wibp-1-same-product-first",
        [("WIBP-CorV", D0)],
        day(1),
        Status.IN_PROGRESS,
        (2, ("WIBP-CorV", "BBIBP-CorV", "CoronaVac"), day(21), day(21), day(56), False),
    ),
    (
        "coronavac-1",
        [("CoronaVac", D0)],
        day(1),
        Status.IN_PROGRESS,
        (2, ("CoronaVac", "BBIBP-CorV", "WIBP-CorV"), day(21), day(21), day(56), False),
    ),
    ("convidecia-1-complete", [("Convidecia", D0)], day(1), Status.PRIMARY_COMPLETE, None),
    (
        "zf2001-1",
        [("ZF2001", D0)],
        day(1),
        Status.IN_PROGRESS,
        (2, ("ZF2001",), day(28), day(28), day(56), False),
    ),
    (
        "zf2001-2",
        [("ZF2001", D0), ("ZF2001", day(28))],
        day(30),
        Status.IN_PROGRESS,
        (3, ("ZF2001",), day(56), day(56), day(183), False),
    ),
    (
        "zf2001-2-late-dose-3-window-from-dose-1",
        [("ZF2001", D0), ("ZF2001", day(60))],
        day(61),
        Status.IN_PROGRESS,
        (3, ("ZF2001",), day(88), day(88), day(183), False),
    ),
    (
        "zf2001-3-complete",
        [("ZF2001", D0), ("ZF2001", day(28)), ("ZF2001", day(60))],
        day(61),
        Status.PRIMARY_COMPLETE,
        None,
    ),
    (
        "bbibp-2-booster-2021-rules",
        [("BBIBP-CorV", D0), ("BBIBP-CorV", day(21))],
        day(30),
        Status.PRIMARY_COMPLETE,
        (3, INACT, day(201), day(201), None, False),
    ),
    (
        "bbibp-2-booster-due-2021",
        [("BBIBP-CorV", D0), ("BBIBP-CorV", day(21))],
        day(201),
        Status.BOOSTER_DUE,
        (3, INACT, day(201), day(201), None, False),
    ),
    (
        "bbibp-2-booster-2022-rules-3-months-and-heterologous",
        [("BBIBP-CorV", D0), ("BBIBP-CorV", day(21))],
        dt.date(2022, 3, 1),
        Status.BOOSTER_DUE,
        (3, ALL_FIVE, day(111), day(111), None, False),
    ),
    (
        "coronavac-booster-lists-course-product-first",
        [("CoronaVac", D0), ("BBIBP-CorV", day(21))],
        dt.date(2022, 3, 1),
        Status.BOOSTER_DUE,
        (
            3,
            ("CoronaVac", "BBIBP-CorV", "WIBP-CorV", "Convidecia", "ZF2001"),
            day(111),
            day(111),
            None,
            False,
        ),
    ),
    (
        "booster-complete",
        [("BBIBP-CorV", D0), ("BBIBP-CorV", day(21)), ("ZF2001", dt.date(2022, 3, 1))],
        dt.date(2022, 3, 2),
        Status.BOOSTER_COMPLETE,
        None,
    ),
    (
        "interrupted-course-overdue-not-restarted",
        [("BBIBP-CorV", D0)],
        day(70),
        Status.IN_PROGRESS,
        (2, INACT, day(21), day(21), day(56), True),
    ),
    (
        "last-day-of-window-not-overdue",
        [("BBIBP-CorV", D0)],
        day(56),
        Status.IN_PROGRESS,
        (2, INACT, day(21), day(21), day(56), False),
    ),
    (
        "zf2001-window-missed-latest-dropped",
        [("ZF2001", D0), ("ZF2001", day(170))],
        day(171),
        Status.IN_PROGRESS,
        (3, ("ZF2001",), day(198), day(198), None, True),
    ),
]


@pytest.mark.parametrize(
    ("doses", "on", "status", "expected"),
    [c[1:] for c in NEXT_CASES],
    ids=[c[0] for c in NEXT_CASES],
)
def test_forecast(
    doses: list[tuple[str, dt.date]],
    on: dt.date,
    status: Status,
    expected: tuple[int, tuple[str, ...], dt.date, dt.date, dt.date | None, bool] | None,
) -> None:
    f = run(doses, on)
    assert f.status is status
    if expected is None:
        assert f.next_dose is None
        return
    nd = f.next_dose
    assert nd is not None
    assert (nd.number, nd.allowed_products, nd.earliest, nd.recommended, nd.latest, nd.overdue) == expected
    assert nd.is_booster is (nd.number > (f.primary_doses or 99))


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (Status.NOT_STARTED, "未接种"),
        (Status.IN_PROGRESS, "接种中"),
        (Status.PRIMARY_COMPLETE, "已完成全程"),
        (Status.BOOSTER_DUE, "可加强"),
        (Status.BOOSTER_COMPLETE, "已加强"),
    ],
)
def test_status_has_chinese_text(status: Status, text: str) -> None:
    examples = {c[3]: c for c in NEXT_CASES}
    case = examples[status]
    assert run(case[1], case[2]).status_zh == text


# ------------------------------------------------------------------------------------------------
# Judging each dose
# ------------------------------------------------------------------------------------------------

JUDGE_CASES = [
    (
        "homologous-course",
        [("BBIBP-CorV", D0), ("BBIBP-CorV", day(21))],
        [(True, 1, ReasonCode.VALID), (True, 2, ReasonCode.VALID)],
    ),
    (
        "wibp-completes-bbibp-course",
        [("BBIBP-CorV", D0), ("WIBP-CorV", day(28))],
        [(True, 1, ReasonCode.VALID), (True, 2, ReasonCode.VALID)],
    ),
    (
        "convidecia-cannot-be-dose-2-of-inactivated",
        [("BBIBP-CorV", D0), ("Convidecia", day(28))],
        [(True, 1, ReasonCode.VALID), (False, None, ReasonCode.WRONG_PRODUCT)],
    ),
    (
        "inactivated-cannot-continue-zf2001",
        [("ZF2001", D0), ("CoronaVac", day(28))],
        [(True, 1, ReasonCode.VALID), (False, None, ReasonCode.WRONG_PRODUCT)],
    ),
    (
        "grace-day-18-counts",
        [("BBIBP-CorV", D0), ("BBIBP-CorV", day(18))],
        [(True, 1, ReasonCode.VALID), (True, 2, ReasonCode.VALID_GRACE)],
    ),
    (
        "grace-day-17-is-the-last-that-counts",
        [("BBIBP-CorV", D0), ("BBIBP-CorV", day(17))],
        [(True, 1, ReasonCode.VALID), (True, 2, ReasonCode.VALID_GRACE)],
    ),
    (
        "day-16-too-early",
        [("BBIBP-CorV", D0), ("BBIBP-CorV", day(16))],
        [(True, 1, ReasonCode.VALID), (False, None, ReasonCode.TOO_EARLY)],
    ),
    (
        "invalid-dose-does-not-reset-the-interval",
        [("BBIBP-CorV", D0), ("BBIBP-CorV", day(10)), ("BBIBP-CorV", day(21))],
        [(True, 1, ReasonCode.VALID), (False, None, ReasonCode.TOO_EARLY), (True, 2, ReasonCode.VALID)],
    ),
    (
        "wrong-product-then-right-product",
        [("BBIBP-CorV", D0), ("Convidecia", day(21)), ("CoronaVac", day(30))],
        [(True, 1, ReasonCode.VALID), (False, None, ReasonCode.WRONG_PRODUCT), (True, 2, ReasonCode.VALID)],
    ),
    (
        "interrupted-dose-2-after-70-days-still-valid",
        [("BBIBP-CorV", D0), ("BBIBP-CorV", day(70))],
        [(True, 1, ReasonCode.VALID), (True, 2, ReasonCode.VALID_LATE)],
    ),
    (
        "zf2001-full-course",
        [("ZF2001", D0), ("ZF2001", day(28)), ("ZF2001", day(56))],
        [(True, 1, ReasonCode.VALID), (True, 2, ReasonCode.VALID), (True, 3, ReasonCode.VALID)],
    ),
    (
        "zf2001-dose-3-too-early",
        [("ZF2001", D0), ("ZF2001", day(28)), ("ZF2001", day(40))],
        [(True, 1, ReasonCode.VALID), (True, 2, ReasonCode.VALID), (False, None, ReasonCode.TOO_EARLY)],
    ),
    (
        "second-convidecia-is-extra",
        [("Convidecia", D0), ("Convidecia", day(200))],
        [(True, 1, ReasonCode.VALID), (False, None, ReasonCode.EXTRA)],
    ),
    (
        "dose-after-booster-is-extra",
        [
            ("BBIBP-CorV", D0),
            ("BBIBP-CorV", day(21)),
            ("BBIBP-CorV", dt.date(2022, 3, 1)),
            ("CoronaVac", dt.date(2022, 9, 1)),
        ],
        [
            (True, 1, ReasonCode.VALID),
            (True, 2, ReasonCode.VALID),
            (True, 3, ReasonCode.VALID),
            (False, None, ReasonCode.EXTRA),
        ],
    ),
    (
        "unknown-product",
        [("Comirnaty", D0), ("BBIBP-CorV", day(1))],
        [(False, None, ReasonCode.UNKNOWN_PRODUCT), (True, 1, ReasonCode.VALID)],
    ),
    (
        "emergency-use-dose-in-2020-counts",
        [("BBIBP-CorV", dt.date(2020, 12, 10)), ("BBIBP-CorV", dt.date(2021, 1, 5))],
        [(True, 1, ReasonCode.VALID), (True, 2, ReasonCode.VALID)],
    ),
]


@pytest.mark.parametrize(
    ("doses", "expected"),
    [c[1:] for c in JUDGE_CASES],
    ids=[c[0] for c in JUDGE_CASES],
)
def test_doses_are_judged(
    doses: list[tuple[str, dt.date]], expected: list[tuple[bool, int | None, ReasonCode]]
) -> None:
    f = run(doses, dt.date(2023, 1, 1))
    assert verdicts(f) == expected
    assert f.valid_dose_count == sum(1 for v in expected if v[0])


@pytest.mark.parametrize(
    ("doses", "fragment"),
    [
        ([("BBIBP-CorV", D0), ("BBIBP-CorV", day(16))], "距上一剂间隔不足21天"),
        ([("ZF2001", D0), ("ZF2001", day(20))], "距上一剂间隔不足28天"),
        ([("BBIBP-CorV", D0), ("Convidecia", day(28))], "技术路线不同"),
        ([("BBIBP-CorV", D0), ("BBIBP-CorV", day(18))], "提前3天"),
        ([("BBIBP-CorV", D0), ("BBIBP-CorV", day(70))], "2021-05-27"),
        ([("Convidecia", D0), ("Convidecia", day(200))], "无加强免疫"),
        ([("Comirnaty", D0)], "“Comirnaty”不在目录中"),
    ],
)
def test_reasons_are_explained_in_chinese(doses: list[tuple[str, dt.date]], fragment: str) -> None:
    messages = [d.reason.message_zh for d in run(doses, dt.date(2023, 1, 1)).doses]
    assert fragment in messages[-1]


def test_an_interrupted_course_is_continued_not_restarted() -> None:
    before = run([("BBIBP-CorV", D0)], day(69))
    assert before.next_dose is not None and before.next_dose.overdue
    assert before.next_dose.number == 2
    after = run([("BBIBP-CorV", D0), ("CoronaVac", day(70))], day(71))
    assert after.status is Status.PRIMARY_COMPLETE
    assert after.primary_completed_on == day(70)
    assert after.next_dose is not None and after.next_dose.number == 3


# ------------------------------------------------------------------------------------------------
# Boosters under the two policies
# ------------------------------------------------------------------------------------------------

BOOSTER_CASES = [
    # primary completed on, booster product, booster date, expected code
    (
        "4-months-in-2021-too-early",
        dt.date(2021, 5, 1),
        "BBIBP-CorV",
        dt.date(2021, 9, 1),
        ReasonCode.TOO_EARLY,
    ),
    ("4-months-in-2022-03-valid", dt.date(2021, 11, 1), "BBIBP-CorV", dt.date(2022, 3, 1), ReasonCode.VALID),
    ("6-months-in-2021-valid", dt.date(2021, 5, 1), "WIBP-CorV", dt.date(2021, 10, 28), ReasonCode.VALID),
    (
        "177-days-in-2021-within-grace",
        dt.date(2021, 5, 1),
        "CoronaVac",
        dt.date(2021, 10, 25),
        ReasonCode.VALID_GRACE,
    ),
    (
        "175-days-in-2021-too-early",
        dt.date(2021, 5, 1),
        "CoronaVac",
        dt.date(2021, 10, 23),
        ReasonCode.TOO_EARLY,
    ),
    (
        "heterologous-ad5-in-2021-not-allowed",
        dt.date(2021, 5, 1),
        "Convidecia",
        dt.date(2021, 12, 1),
        ReasonCode.WRONG_PRODUCT,
    ),
    (
        "heterologous-ad5-in-2022-allowed",
        dt.date(2021, 5, 1),
        "Convidecia",
        dt.date(2022, 3, 1),
        ReasonCode.VALID,
    ),
    (
        "heterologous-zf2001-in-2022-allowed",
        dt.date(2021, 5, 1),
        "ZF2001",
        dt.date(2022, 3, 1),
        ReasonCode.VALID,
    ),
    (
        "2-months-in-2022-too-early",
        dt.date(2022, 1, 1),
        "BBIBP-CorV",
        dt.date(2022, 3, 1),
        ReasonCode.TOO_EARLY,
    ),
]


@pytest.mark.parametrize(
    ("completed", "product", "given", "code"),
    [c[1:] for c in BOOSTER_CASES],
    ids=[c[0] for c in BOOSTER_CASES],
)
def test_booster_is_judged_by_the_policy_in_force_when_given(
    completed: dt.date, product: str, given: dt.date, code: ReasonCode
) -> None:
    doses = [("BBIBP-CorV", completed - dt.timedelta(days=21)), ("BBIBP-CorV", completed), (product, given)]
    f = run(doses, given)
    booster = f.doses[-1]
    assert booster.is_booster
    assert booster.reason.code is code
    assert booster.valid is (code in (ReasonCode.VALID, ReasonCode.VALID_GRACE))
    assert booster.dose_number == (3 if booster.valid else None)


def test_the_forecast_uses_the_policy_in_force_on_the_forecast_day() -> None:
    doses = [("BBIBP-CorV", dt.date(2021, 4, 10)), ("BBIBP-CorV", dt.date(2021, 5, 1))]
    in_2021 = run(doses, dt.date(2021, 9, 1))
    in_2022 = run(doses, dt.date(2022, 3, 1))
    assert in_2021.next_dose is not None and in_2022.next_dose is not None
    assert in_2021.next_dose.earliest == dt.date(2021, 10, 28)
    assert in_2022.next_dose.earliest == dt.date(2021, 7, 30)
    assert in_2021.status is Status.PRIMARY_COMPLETE
    assert in_2022.status is Status.BOOSTER_DUE


def test_an_early_booster_does_not_reset_the_booster_interval() -> None:
    doses = [
        ("BBIBP-CorV", dt.date(2021, 4, 10)),
        ("BBIBP-CorV", dt.date(2021, 5, 1)),
        ("BBIBP-CorV", dt.date(2021, 9, 1)),
    ]
    f = run(doses, dt.date(2021, 9, 2))
    assert f.next_dose is not None
    assert (f.next_dose.number, f.next_dose.earliest) == (3, dt.date(2021, 10, 28))


# ------------------------------------------------------------------------------------------------
# Age limits
# ------------------------------------------------------------------------------------------------


def test_a_dose_before_18_is_too_young_and_the_next_dose_waits_for_the_birthday() -> None:
    birth = dt.date(2004, 6, 1)
    f = run([("BBIBP-CorV", dt.date(2021, 5, 1))], dt.date(2021, 6, 1), birth=birth)
    assert verdicts(f) == [(False, None, ReasonCode.TOO_YOUNG)]
    assert f.doses[0].reason.message_zh == "接种时未满18周岁"
    assert f.status is Status.NOT_STARTED
    assert f.next_dose is not None
    assert (f.next_dose.number, f.next_dose.earliest) == (1, dt.date(2022, 6, 1))


def test_a_dose_on_the_18th_birthday_counts() -> None:
    birth = dt.date(2003, 4, 1)
    f = run([("CoronaVac", dt.date(2021, 4, 1))], dt.date(2021, 4, 2), birth=birth)
    assert verdicts(f) == [(True, 1, ReasonCode.VALID)]


def test_a_product_with_an_upper_age_limit() -> None:
    capped = replace(PRODUCTS[0], max_age_years=59)
    catalogue = Catalogue(products=(capped, *PRODUCTS[1:]), policies=POLICIES)
    f = evaluate(
        birth_date=dt.date(1950, 1, 1),
        doses=[GivenDose("BBIBP-CorV", D0)],
        on=day(1),
        catalogue=catalogue,
    )
    assert verdicts(f) == [(False, None, ReasonCode.TOO_OLD)]
    assert f.next_dose is not None
    assert "BBIBP-CorV" not in f.next_dose.allowed_products
    assert f.next_dose.allowed_products == ("WIBP-CorV", "CoronaVac", "Convidecia", "ZF2001")


# ------------------------------------------------------------------------------------------------
# Deferrals and contraindications
# ------------------------------------------------------------------------------------------------


def test_an_active_deferral_pushes_the_next_dose() -> None:
    f = run([("BBIBP-CorV", D0)], day(25), deferrals=(Deferral(day(30), None, "发热"),))
    assert f.status is Status.DEFERRED
    assert f.status_zh == "暂缓至2021-05-01"
    assert f.deferred_until == day(30)
    assert f.next_dose is not None
    assert (f.next_dose.earliest, f.next_dose.recommended, f.next_dose.latest) == (day(30), day(30), day(56))


def test_an_open_ended_deferral_keeps_the_dates() -> None:
    f = run([("BBIBP-CorV", D0)], day(25), deferrals=(Deferral(None, "妊娠结束后", "妊娠"),))
    assert f.status is Status.DEFERRED
    assert f.status_zh == "暂缓（妊娠结束后）"
    assert f.deferred_until is None
    assert f.next_dose is not None and f.next_dose.earliest == day(21)


def test_a_lapsed_deferral_no_longer_counts() -> None:
    f = run([("BBIBP-CorV", D0)], day(30), deferrals=(Deferral(day(30), None, "发热"),))
    assert f.status is Status.IN_PROGRESS
    assert f.next_dose is not None and f.next_dose.earliest == day(21)


def test_a_deferral_does_not_hide_a_finished_course() -> None:
    doses = [("BBIBP-CorV", D0), ("BBIBP-CorV", day(21)), ("BBIBP-CorV", dt.date(2022, 3, 1))]
    f = run(doses, dt.date(2022, 3, 2), deferrals=(Deferral(dt.date(2022, 4, 1), None, "发热"),))
    assert f.status is Status.BOOSTER_COMPLETE


def test_deferral_needs_a_date_or_a_condition() -> None:
    with pytest.raises(ValueError):
        Deferral(None, None, "x")


def test_other_vaccines_keep_14_days_away() -> None:
    f = run([("BBIBP-CorV", D0)], day(16), other=(day(15),))
    assert f.next_dose is not None and f.next_dose.earliest == day(29)


def test_contraindicated_for_all_products() -> None:
    f = run([("BBIBP-CorV", D0)], day(30), contraindications=(Contraindication(ALL, "严重过敏"),))
    assert (f.status, f.status_zh, f.next_dose) == (Status.CONTRAINDICATED, "禁忌", None)
    assert "严重过敏" in f.reasons


@pytest.mark.parametrize(
    ("doses", "on", "excluded", "status", "allowed"),
    [
        ([("BBIBP-CorV", D0)], day(30), ("BBIBP-CorV",), Status.IN_PROGRESS, ("WIBP-CorV", "CoronaVac")),
        ([("BBIBP-CorV", D0)], day(30), INACT, Status.CONTRAINDICATED, None),
        ([], D0, INACT, Status.NOT_STARTED, ("Convidecia", "ZF2001")),
        (
            [("BBIBP-CorV", D0), ("BBIBP-CorV", day(21))],
            dt.date(2022, 3, 1),
            INACT,
            Status.BOOSTER_DUE,
            ("Convidecia", "ZF2001"),
        ),
        # No booster product left: the primary course stands, nothing more to give.
        (
            [("BBIBP-CorV", D0), ("BBIBP-CorV", day(21))],
            dt.date(2021, 12, 1),
            INACT,
            Status.PRIMARY_COMPLETE,
            None,
        ),
    ],
)
def test_contraindications_for_some_products_narrow_the_choice(
    doses: list[tuple[str, dt.date]],
    on: dt.date,
    excluded: tuple[str, ...],
    status: Status,
    allowed: tuple[str, ...] | None,
) -> None:
    f = run(doses, on, contraindications=(Contraindication(excluded, "既往严重反应"),))
    assert f.status is status
    if allowed is None:
        assert f.next_dose is None
    else:
        assert f.next_dose is not None and f.next_dose.allowed_products == allowed


# ------------------------------------------------------------------------------------------------
# Order, records after the forecast day, refs
# ------------------------------------------------------------------------------------------------


def test_input_order_does_not_matter() -> None:
    doses = [("BBIBP-CorV", D0), ("Convidecia", day(21)), ("CoronaVac", day(30))]
    assert run(doses, day(40)) == run(list(reversed(doses)), day(40))


def test_doses_after_the_forecast_day_are_ignored() -> None:
    f = run([("BBIBP-CorV", D0), ("BBIBP-CorV", day(21))], day(10))
    assert len(f.doses) == 1
    assert f.status is Status.IN_PROGRESS


def test_refs_are_echoed_back() -> None:
    f = evaluate(
        birth_date=ADULT,
        doses=[GivenDose("ZF2001", day(28), ref="r2"), GivenDose("ZF2001", D0, ref="r1", external=True)],
        on=day(30),
        catalogue=CATALOGUE,
    )
    assert [(d.dose.ref, d.dose_number, d.dose.external) for d in f.doses] == [
        ("r1", 1, True),
        ("r2", 2, False),
    ]


# ------------------------------------------------------------------------------------------------
# Output formats
# ------------------------------------------------------------------------------------------------


def _criteria(resource: dict) -> dict[str, str]:
    rec = resource["recommendation"][0]
    return {c["code"]["coding"][0]["code"]: c["value"] for c in rec.get("dateCriterion", [])}


def test_fhir_recommendation_for_a_due_dose() -> None:
    res = to_fhir_recommendation(
        run([("BBIBP-CorV", D0)], day(22)), patient_ref="Patient/7", catalogue=CATALOGUE
    )
    rec = res["recommendation"][0]
    # The output is an R4 resource the library accepts as it stands (R4B models; the default import is R5).
    ImmunizationRecommendation.model_validate(res)
    assert res["resourceType"] == "ImmunizationRecommendation"
    assert res["patient"] == {"reference": "Patient/7"}
    assert res["date"] == "2021-04-23"
    assert rec["forecastStatus"]["coding"][0]["code"] == "due"
    assert rec["doseNumberPositiveInt"] == 2
    assert rec["seriesDosesPositiveInt"] == 2
    assert rec["targetDisease"]["coding"][0]["code"] == "840539006"
    assert [c["coding"][0]["code"] for c in rec["vaccineCode"]] == list(INACT)
    assert rec["vaccineCode"][0]["coding"][1] == {"system": "http://snomed.info/sct", "code": "1157024006"}
    assert _criteria(res) == {"30981-5": "2021-04-22", "30980-7": "2021-04-22", "59777-3": "2021-05-27"}


@pytest.mark.parametrize(
    ("doses", "on", "contra", "status"),
    [
        ([("BBIBP-CorV", D0)], day(60), (), "overdue"),
        ([("Convidecia", D0)], day(1), (), "complete"),
        ([], D0, (Contraindication(ALL, "过敏"),), "contraindicated"),
        ([], D0, (), "due"),
    ],
)
def test_fhir_forecast_status(
    doses: list[tuple[str, dt.date]], on: dt.date, contra: tuple[Contraindication, ...], status: str
) -> None:
    res = to_fhir_recommendation(run(doses, on, contraindications=contra), patient_ref="Patient/1")
    rec = res["recommendation"][0]
    assert rec["forecastStatus"]["coding"][0]["code"] == status
    assert ("doseNumberPositiveInt" in rec) is (status in ("due", "overdue"))


def test_fhir_first_dose_has_no_series_length_when_products_differ() -> None:
    rec = to_fhir_recommendation(run([], D0), patient_ref="Patient/1")["recommendation"][0]
    assert rec["doseNumberPositiveInt"] == 1
    assert "seriesDosesPositiveInt" not in rec
    assert "59777-3" not in {c["code"]["coding"][0]["code"] for c in rec["dateCriterion"]}


def test_forecast_to_dict_is_json_ready() -> None:
    f = run([("BBIBP-CorV", D0)], day(25), deferrals=(Deferral(day(30), None, "发热"),))
    data = forecast_to_dict(f)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert data["status"] == "deferred"
    assert data["deferred_until"] == "2021-05-01"
    assert data["next_dose"]["earliest"] == "2021-05-01"
    assert data["next_dose"]["allowed_products"] == list(INACT)
    assert data["doses"][0]["reason"] == {"code": "VALID", "message_zh": "有效"}


# ------------------------------------------------------------------------------------------------
# Booking eligibility and mobilisation lists
# ------------------------------------------------------------------------------------------------

YOUNG = dt.date(2003, 10, 1)
OLD = dt.date(1950, 3, 1)

ELIGIBILITY_CASES = [
    # id, birth, group, doses, on, contra, deferrals, phases, allowed, code, earliest
    ("phase-1-key-group", ADULT, "medical", [], dt.date(2021, 2, 1), (), (), PHASES, True, EligibilityCode.ALLOWED, dt.date(2021, 2, 1)),
    ("phase-1-not-for-everyone", ADULT, "general", [], dt.date(2021, 2, 1), (), (), PHASES, False, EligibilityCode.NO_OPEN_PHASE, dt.date(2021, 4, 1)),
    ("no-group-waits-for-open-phase", ADULT, None, [], dt.date(2021, 2, 1), (), (), PHASES, False, EligibilityCode.NO_OPEN_PHASE, dt.date(2021, 4, 1)),
    ("elderly-wait-for-step-2", OLD, "general", [], dt.date(2021, 5, 1), (), (), PHASES, False, EligibilityCode.NO_OPEN_PHASE, dt.date(2021, 7, 1)),
    ("elderly-in-step-2", OLD, "elderly_60", [], dt.date(2021, 7, 1), (), (), PHASES, True, EligibilityCode.ALLOWED, dt.date(2021, 7, 1)),
    ("minor-waits-for-18th-birthday", YOUNG, "general", [], dt.date(2021, 5, 1), (), (), PHASES, False, EligibilityCode.NOT_DUE, dt.date(2021, 10, 1)),
    ("no-phase-at-all", ADULT, "general", [], dt.date(2021, 5, 1), (), (), (), False, EligibilityCode.NO_PHASE, None),
    ("dose-2-not-due", ADULT, "general", [("BBIBP-CorV", D0)], day(10), (), (), PHASES, False, EligibilityCode.NOT_DUE, day(21)),
    ("dose-2-ignores-closed-phase", ADULT, "medical", [("BBIBP-CorV", dt.date(2021, 3, 20))], dt.date(2021, 4, 15), (), (), PHASES[:1], True, EligibilityCode.ALLOWED, dt.date(2021, 4, 15)),
    ("contraindicated", ADULT, "general", [], dt.date(2021, 5, 1), (Contraindication(ALL, "过敏"),), (), PHASES, False, EligibilityCode.CONTRAINDICATED, None),
    ("deferred", ADULT, "general", [], dt.date(2021, 5, 1), (), (Deferral(dt.date(2021, 5, 8), None, "发热"),), PHASES, False, EligibilityCode.DEFERRED, dt.date(2021, 5, 8)),
    ("deferred-open", ADULT, "general", [], dt.date(2021, 5, 1), (), (Deferral(None, "妊娠结束后", "妊娠"),), PHASES, False, EligibilityCode.DEFERRED, None),
    ("complete", ADULT, "general", [("Convidecia", D0)], day(30), (), (), PHASES, False, EligibilityCode.COMPLETE, None),
    ("deferred-until-after-phase-opens", ADULT, "general", [], dt.date(2021, 3, 1), (), (Deferral(dt.date(2021, 3, 8), None, "发热"),), PHASES, False, EligibilityCode.DEFERRED, dt.date(2021, 4, 1)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("birth", "group", "doses", "on", "contra", "deferrals", "phases", "allowed", "code", "earliest"),
    [c[1:] for c in ELIGIBILITY_CASES],
    ids=[c[0] for c in ELIGIBILITY_CASES],
)
def test_booking_eligibility(
    birth: dt.date,
    group: str | None,
    doses: list[tuple[str, dt.date]],
    on: dt.date,
    contra: tuple[Contraindication, ...],
    deferrals: tuple[Deferral, ...],
    phases: tuple[Phase, ...],
    allowed: bool,
    code: EligibilityCode,
    earliest: dt.date | None,
) -> None:
    f = run(doses, on, birth=birth, contraindications=contra, deferrals=deferrals)
    e = booking_eligibility(birth_date=birth, priority_group=group, forecast=f, phases=phases, on=on)
    assert (e.allowed, e.code, e.earliest) == (allowed, code, earliest)
    assert e.reason_zh


def test_eligibility_messages() -> None:
    f = run([("BBIBP-CorV", D0)], day(70))
    e = booking_eligibility(birth_date=ADULT, priority_group=None, forecast=f, phases=PHASES, on=day(70))
    assert e.reason_zh == "可以预约第2剂（已超过建议的最晚日期，请尽快补种）"
    f = run([], dt.date(2021, 2, 1))
    e = booking_eligibility(birth_date=ADULT, priority_group="general", forecast=f, phases=PHASES, on=f.on)
    assert e.reason_zh == "所属人群尚未开放接种，2021-04-01起可预约"


def test_a_deferral_that_ends_before_the_session_does_not_block_booking() -> None:
    f = run([], dt.date(2021, 5, 1), deferrals=(Deferral(dt.date(2021, 5, 8), None, "发热"),))
    assert f.status is Status.DEFERRED
    e = booking_eligibility(
        birth_date=ADULT, priority_group=None, forecast=f, phases=PHASES, on=dt.date(2021, 5, 10)
    )
    assert (e.allowed, e.code, e.reason_zh) == (True, EligibilityCode.ALLOWED, "可以预约第1剂")
    e = booking_eligibility(
        birth_date=ADULT, priority_group=None, forecast=f, phases=PHASES, on=dt.date(2021, 5, 7)
    )
    assert (e.allowed, e.code, e.reason_zh) == (
        False,
        EligibilityCode.DEFERRED,
        "暂缓接种，2021-05-08起可预约",
    )


def test_phase_age_limit_is_inclusive_until_the_next_birthday() -> None:
    phase = PHASES[1]  # 18–59
    birth = dt.date(1961, 5, 10)
    assert phase.admits(birth_date=birth, priority_group=None, on=dt.date(2021, 5, 9))
    assert not phase.admits(birth_date=birth, priority_group=None, on=dt.date(2021, 5, 10))


MOBILISATION_CASES = [
    ("not-started", [], D0, (), (), MobilisationCategory.NOT_STARTED),
    ("not-yet-due", [("BBIBP-CorV", D0)], day(10), (), (), MobilisationCategory.NOT_YET_DUE),
    ("dose-due", [("BBIBP-CorV", D0)], day(21), (), (), MobilisationCategory.DOSE_DUE),
    ("overdue", [("BBIBP-CorV", D0)], day(57), (), (), MobilisationCategory.OVERDUE),
    ("booster-due", [("BBIBP-CorV", D0), ("BBIBP-CorV", day(21))], dt.date(2022, 3, 1), (), (), MobilisationCategory.BOOSTER_DUE),
    ("complete-booster-not-yet-due", [("BBIBP-CorV", D0), ("BBIBP-CorV", day(21))], day(30), (), (), MobilisationCategory.COMPLETE),
    ("complete", [("Convidecia", D0)], day(1), (), (), MobilisationCategory.COMPLETE),
    ("contraindicated", [], D0, (Contraindication(ALL, "过敏"),), (), MobilisationCategory.CONTRAINDICATED),
    ("deferred", [("BBIBP-CorV", D0)], day(25), (), (Deferral(day(30), None, "发热"),), MobilisationCategory.DEFERRED),
    ("too-young", [], D0, (), (), MobilisationCategory.NOT_YET_DUE),
]  # fmt: skip


@pytest.mark.parametrize(
    ("doses", "on", "contra", "deferrals", "category"),
    [c[1:] for c in MOBILISATION_CASES],
    ids=[c[0] for c in MOBILISATION_CASES],
)
def test_mobilisation_category(
    request: pytest.FixtureRequest,
    doses: list[tuple[str, dt.date]],
    on: dt.date,
    contra: tuple[Contraindication, ...],
    deferrals: tuple[Deferral, ...],
    category: MobilisationCategory,
) -> None:
    birth = dt.date(2010, 1, 1) if "too-young" in request.node.name else ADULT
    f = run(doses, on, birth=birth, contraindications=contra, deferrals=deferrals)
    assert mobilisation_category(f, on) == category.value


def test_mobilisation_uses_the_day_asked_about() -> None:
    f = run([("BBIBP-CorV", D0)], day(10))
    assert mobilisation_category(f, day(10)) is MobilisationCategory.NOT_YET_DUE
    assert mobilisation_category(f, day(30)) is MobilisationCategory.DOSE_DUE
    assert mobilisation_category(f, day(60)) is MobilisationCategory.OVERDUE

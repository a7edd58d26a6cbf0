"""Pre-screening (预检) by question-set version, and its hand-over to dose evaluation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from vaxops.catalog.defaults import CATALOGUE, QUESTION_SETS
from vaxops.catalog.domain import (
    ALL,
    AnswerType,
    Deferral,
    GivenDose,
    Outcome,
    Question,
    QuestionSet,
    Rule,
    RuleAction,
    ScreeningResult,
    Status,
    contraindication_from_screening,
    deferrals_from_screening,
    evaluate,
    question_set_for,
    screen,
)

ON = dt.date(2021, 7, 1)
V2103, V2106 = QUESTION_SETS
INACT = ("BBIBP-CorV", "WIBP-CorV", "CoronaVac")

ALL_NO: dict[str, Any] = {
    "allergy_vaccine_severe": False,
    "allergy_component": False,
    "covid_dose_severe_reaction": "no",
    "neurological": False,
    "acute_illness": False,
    "chronic_uncontrolled": False,
    "pregnancy": False,
    "lactation": False,
    "other_vaccine_date": None,
}


def check(
    changes: dict[str, Any] | None = None,
    *,
    qs: QuestionSet = V2106,
    temp: float | None = 36.5,
    bp: tuple[int, int] | None = None,
    with_catalogue: bool = True,
) -> ScreeningResult:
    return screen(
        question_set=qs,
        answers={**ALL_NO, **(changes or {})},
        temperature_c=temp,
        bp_systolic=bp[0] if bp else None,
        bp_diastolic=bp[1] if bp else None,
        on=ON,
        catalogue=CATALOGUE if with_catalogue else None,
    )


def test_it_proceeds_when_everything_is_fine() -> None:
    r = check(bp=(120, 80))
    assert (r.outcome, r.outcome_zh) == (Outcome.PROCEED, "可以接种")
    assert (r.defer_until, r.defer_condition, r.contraindicated_products) == (None, None, ())
    assert (r.reasons, r.deferrals, r.contraindication) == ((), (), None)
    assert r.question_set_version == "2021-06"


SCREEN_CASES = [
    # id, changed answers, outcome, defer_until, defer_condition, contraindicated products
    ("severe-allergy", {"allergy_vaccine_severe": True}, Outcome.CONTRAINDICATED, None, None, ALL),
    ("component-allergy", {"allergy_component": True}, Outcome.CONTRAINDICATED, None, None, ALL),
    ("neurological", {"neurological": True}, Outcome.CONTRAINDICATED, None, None, ALL),
    ("reaction-to-inactivated", {"covid_dose_severe_reaction": "CoronaVac"}, Outcome.CONTRAINDICATED, None, None, INACT),
    ("reaction-to-zf2001", {"covid_dose_severe_reaction": "ZF2001"}, Outcome.CONTRAINDICATED, None, None, ("ZF2001",)),
    ("reaction-product-unknown", {"covid_dose_severe_reaction": "yes"}, Outcome.CONTRAINDICATED, None, None, ALL),
    ("acute-illness", {"acute_illness": True}, Outcome.DEFER, dt.date(2021, 7, 8), None, ()),
    ("chronic-uncontrolled", {"chronic_uncontrolled": True}, Outcome.DEFER, None, "病情控制稳定后", ()),
    ("pregnancy", {"pregnancy": True}, Outcome.DEFER, None, "妊娠结束后", ()),
    ("lactation-is-a-note", {"lactation": True}, Outcome.PROCEED, None, None, ()),
    ("other-vaccine-5-days-ago", {"other_vaccine_date": dt.date(2021, 6, 26)}, Outcome.DEFER, dt.date(2021, 7, 10), None, ()),
    ("other-vaccine-14-days-ago", {"other_vaccine_date": dt.date(2021, 6, 17)}, Outcome.PROCEED, None, None, ()),
    (
        "worst-wins-but-deferrals-are-kept",
        {"allergy_component": True, "pregnancy": True, "acute_illness": True},
        Outcome.CONTRAINDICATED,
        dt.date(2021, 7, 8),
        "妊娠结束后",
        ALL,
    ),
    (
        "platform-contraindication-and-deferral",
        {"covid_dose_severe_reaction": "BBIBP-CorV", "other_vaccine_date": dt.date(2021, 6, 30)},
        Outcome.CONTRAINDICATED,
        dt.date(2021, 7, 14),
        None,
        INACT,
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "outcome", "until", "condition", "products"),
    [c[1:] for c in SCREEN_CASES],
    ids=[c[0] for c in SCREEN_CASES],
)
def test_answers(
    changes: dict[str, Any],
    outcome: Outcome,
    until: dt.date | None,
    condition: str | None,
    products: object,
) -> None:
    r = check(changes)
    assert (r.outcome, r.defer_until, r.defer_condition, r.contraindicated_products) == (
        outcome,
        until,
        condition,
        products,
    )
    assert (
        r.outcome_zh
        == {Outcome.PROCEED: "可以接种", Outcome.DEFER: "暂缓接种", Outcome.CONTRAINDICATED: "禁止接种"}[
            outcome
        ]
    )
    assert bool(r.reasons) is (outcome is not Outcome.PROCEED)


def test_lactation_note_follows_the_technical_guide() -> None:
    r = check({"lactation": True})
    assert r.notes == ("哺乳期：可以接种，接种后建议继续母乳喂养",)


def test_without_a_catalogue_a_named_product_contraindicates_everything() -> None:
    assert (
        check({"covid_dose_severe_reaction": "CoronaVac"}, with_catalogue=False).contraindicated_products
        is ALL
    )


@pytest.mark.parametrize(
    ("qs", "bp", "outcome"),
    [
        (V2103, (139, 89), Outcome.PROCEED),
        (V2103, (140, 80), Outcome.DEFER),
        (V2103, (130, 90), Outcome.DEFER),
        (V2103, (150, 95), Outcome.DEFER),
        (V2106, (150, 95), Outcome.PROCEED),
        (V2106, (159, 99), Outcome.PROCEED),
        (V2106, (160, 95), Outcome.DEFER),
        (V2106, (150, 100), Outcome.DEFER),
    ],
)
def test_blood_pressure_threshold_depends_on_the_version(
    qs: QuestionSet, bp: tuple[int, int], outcome: Outcome
) -> None:
    r = check(qs=qs, bp=bp)
    assert r.outcome is outcome
    assert r.defer_until == (dt.date(2021, 7, 8) if outcome is Outcome.DEFER else None)


def test_blood_pressure_reason_names_the_limit() -> None:
    assert check(qs=V2103, bp=(150, 95)).reasons == (
        "血压150/95mmHg，达到140/90mmHg，暂缓至2021-07-08（血压控制稳定后再接种）",
    )


@pytest.mark.parametrize(
    ("temp", "outcome"),
    [(36.8, Outcome.PROCEED), (37.2, Outcome.PROCEED), (37.3, Outcome.DEFER), (38.5, Outcome.DEFER)],
)
def test_temperature_at_or_above_37_3_defers(temp: float, outcome: Outcome) -> None:
    assert check(temp=temp).outcome is outcome


@pytest.mark.parametrize(
    ("on", "version"),
    [
        (dt.date(2021, 2, 28), None),
        (dt.date(2021, 3, 1), "2021-03"),
        (dt.date(2021, 5, 31), "2021-03"),
        (dt.date(2021, 6, 1), "2021-06"),
        (dt.date(2023, 1, 1), "2021-06"),
    ],
)
def test_question_set_for(on: dt.date, version: str | None) -> None:
    found = question_set_for(QUESTION_SETS, on)
    assert (found.version if found else None) == version


# ------------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "kwargs", "message"),
    [
        (
            {k: v for k, v in ALL_NO.items() if k != "pregnancy"},
            {},
            "pregnancy: 未回答预检问题“目前是否怀孕？”",
        ),
        ({**ALL_NO, "neurological": None}, {}, "neurological: 未回答"),
        ({**ALL_NO, "neurological": "否"}, {}, "neurological: .*须回答是或否"),
        (
            {**ALL_NO, "covid_dose_severe_reaction": "Comirnaty"},
            {},
            "covid_dose_severe_reaction: .*不在可选范围内",
        ),
        ({**ALL_NO, "other_vaccine_date": "2021-06-30"}, {}, "other_vaccine_date: .*须填写日期"),
        ({**ALL_NO, "smoker": False}, {}, "smoker: 不是预检问题集2021-06中的问题"),
        (ALL_NO, {"temperature_c": None}, "temperature_c: 未测量体温"),
        (ALL_NO, {"temperature_c": 97.5}, "temperature_c: 体温97.5℃不合理"),
        (ALL_NO, {"bp_systolic": 120}, "bp: 收缩压和舒张压须同时填写"),
    ],
)
def test_bad_input_raises_a_chinese_message(
    answers: dict[str, Any], kwargs: dict[str, Any], message: str
) -> None:
    params: dict[str, Any] = {
        "question_set": V2106,
        "answers": answers,
        "temperature_c": 36.5,
        "bp_systolic": None,
        "bp_diastolic": None,
        "on": ON,
    }
    with pytest.raises(ValueError, match=message):
        screen(**{**params, **kwargs})


def test_optional_remarks_may_be_omitted_or_noted() -> None:
    assert check().notes == ()
    assert check({"remarks": "  "}).notes == ()
    assert check({"remarks": "青霉素过敏"}).notes == ("受种者另有健康情况说明，请预检医生复核",)


def test_a_custom_question_set() -> None:
    qs = QuestionSet(
        version="test",
        effective_from=ON,
        questions=(
            Question("q", "问？", "Q?", AnswerType.BOOL, Rule(RuleAction.DEFER, "原因", defer_days=3)),
        ),
        temp_max_c=37.0,
    )
    r = screen(
        question_set=qs, answers={"q": True}, temperature_c=37.0, bp_systolic=None, bp_diastolic=None, on=ON
    )
    assert r.outcome is Outcome.DEFER
    assert r.defer_until == dt.date(2021, 7, 8)  # temperature (7 days) outlasts the answer (3 days)
    assert r.reasons == ("原因，暂缓至2021-07-04", "体温37.0℃，≥37.0℃，暂缓至2021-07-08")


def test_question_sets_reject_duplicate_codes_and_rules_need_a_deferral() -> None:
    q = Question("q", "问？", "Q?", AnswerType.BOOL, Rule(RuleAction.NOTE, "备注"))
    with pytest.raises(ValueError, match="重复"):
        QuestionSet(version="x", effective_from=ON, questions=(q, q))
    with pytest.raises(ValueError):
        Rule(RuleAction.DEFER, "无期限")


# ------------------------------------------------------------------------------------------------
# From screening to evaluation
# ------------------------------------------------------------------------------------------------


def _forecast_after(r: ScreeningResult) -> Any:
    contra = contraindication_from_screening(r)
    return evaluate(
        birth_date=dt.date(1980, 1, 1),
        doses=[GivenDose("BBIBP-CorV", dt.date(2021, 6, 1))],
        contraindications=[contra] if contra else [],
        deferrals=deferrals_from_screening(r),
        on=ON,
        catalogue=CATALOGUE,
    )


def test_records_from_a_clean_screening_change_nothing() -> None:
    r = check()
    assert (contraindication_from_screening(r), deferrals_from_screening(r)) == (None, ())
    assert _forecast_after(r).status is Status.IN_PROGRESS


def test_a_contraindication_from_screening_stops_vaccination() -> None:
    r = check({"allergy_vaccine_severe": True})
    contra = contraindication_from_screening(r)
    assert contra is not None and contra.products is ALL
    assert contra.reason == "预检禁忌：既往接种疫苗发生严重过敏反应，禁止接种"
    assert _forecast_after(r).status is Status.CONTRAINDICATED


def test_a_platform_contraindication_ends_an_inactivated_course() -> None:
    f = _forecast_after(check({"covid_dose_severe_reaction": "BBIBP-CorV"}))
    assert f.status is Status.CONTRAINDICATED
    assert f.next_dose is None


def test_a_dated_deferral_pushes_the_next_dose() -> None:
    r = check(temp=38.0)
    assert deferrals_from_screening(r) == (
        Deferral(
            until=dt.date(2021, 7, 8), condition=None, reason="预检暂缓：体温38.0℃，≥37.3℃，暂缓至2021-07-08"
        ),
    )
    f = _forecast_after(r)
    assert (f.status, f.status_zh) == (Status.DEFERRED, "暂缓至2021-07-08")
    assert f.next_dose is not None and f.next_dose.earliest == dt.date(2021, 7, 8)


def test_an_open_deferral_outlives_a_dated_one() -> None:
    r = check({"pregnancy": True, "acute_illness": True})
    dated, open_ended = deferrals_from_screening(r)
    assert (dated.until, dated.condition) == (dt.date(2021, 7, 8), None)
    assert (open_ended.until, open_ended.condition) == (None, "妊娠结束后")
    later = evaluate(
        birth_date=dt.date(1990, 1, 1),
        doses=[],
        deferrals=deferrals_from_screening(r),
        on=dt.date(2021, 8, 1),
        catalogue=CATALOGUE,
    )
    assert (later.status, later.status_zh) == (Status.DEFERRED, "暂缓（妊娠结束后）")

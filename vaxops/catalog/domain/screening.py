"""Pre-screening (预检): versioned question sets with vital-sign thresholds, and what the answers mean
(proceed, defer, contraindicate) as the deferrals and contraindication to store.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .catalogue import ALL, Catalogue, ProductScope
from .dates import days
from .records import Contraindication, Deferral

__all__ = [
    "AnswerType",
    "Outcome",
    "Question",
    "QuestionSet",
    "Rule",
    "RuleAction",
    "RuleScope",
    "ScreeningResult",
    "contraindication_from_screening",
    "deferrals_from_screening",
    "question_set_for",
    "screen",
]


class AnswerType(enum.StrEnum):
    BOOL = "bool"
    CHOICE = "choice"
    TEXT = "text"
    DATE = "date"


class RuleAction(enum.StrEnum):
    NOTE = "note"  # recorded and shown, never blocks
    DEFER = "defer"
    CONTRAINDICATE = "contraindicate"


class RuleScope(enum.StrEnum):
    ALL_PRODUCTS = "all_products"
    ANSWERED_PLATFORM = "answered_platform"  # the platform of the product named in the answer


@dataclass(frozen=True)
class Rule:
    """What a positive answer means.

    A positive answer is ``True`` (BOOL), any choice but ``"no"`` (CHOICE), non-empty text (TEXT) or a
    date (DATE). Deferrals last ``defer_days`` from the screening day, or — for DATE answers —
    ``defer_days_after_answer`` from the answered date; with neither they are open-ended until
    ``defer_condition`` is met.
    """

    action: RuleAction
    reason_zh: str
    scope: RuleScope = RuleScope.ALL_PRODUCTS
    defer_days: int | None = None
    defer_days_after_answer: int | None = None
    defer_condition: str | None = None

    def __post_init__(self) -> None:
        if (
            self.action is RuleAction.DEFER
            and self.defer_days is None
            and self.defer_days_after_answer is None
            and not self.defer_condition
        ):
            raise ValueError("暂缓规则须给出天数或条件")


@dataclass(frozen=True)
class Question:
    """One pre-screening question. ``choices`` lists the accepted values of a CHOICE question
    (``"no"`` is the negative answer)."""

    code: str
    text_zh: str
    text_en: str
    answer_type: AnswerType
    rule: Rule
    required: bool = True
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuestionSet:
    """A versioned questionnaire with vital-sign thresholds: a temperature at or above ``temp_max_c``,
    or a blood pressure at or above either BP limit, defers vaccination by ``vitals_defer_days``."""

    version: str
    effective_from: dt.date
    questions: tuple[Question, ...]
    temp_max_c: float = 37.3
    bp_systolic_max: int = 140
    bp_diastolic_max: int = 90
    vitals_defer_days: int = 7
    # A county chooses between versions (the technical guide's, its own from the seed's lists): only the
    # versions in use are considered for a day.
    in_use: bool = True

    def __post_init__(self) -> None:
        codes = [q.code for q in self.questions]
        if len(codes) != len(set(codes)):
            raise ValueError(f"问题集{self.version}中问题编码重复")

    def question(self, code: str) -> Question | None:
        return next((q for q in self.questions if q.code == code), None)


def question_set_for(question_sets: Iterable[QuestionSet], on: dt.date) -> QuestionSet | None:
    """The latest version in use and in effect on ``on``; ``None`` if every version in use starts later."""
    usable = [qs for qs in question_sets if qs.in_use and qs.effective_from <= on]
    return max(usable, key=lambda qs: qs.effective_from) if usable else None


class Outcome(enum.StrEnum):
    PROCEED = "proceed"
    DEFER = "defer"
    CONTRAINDICATED = "contraindicated"

    @property
    def label_zh(self) -> str:
        return _OUTCOME_ZH[self]


_OUTCOME_ZH: Final[dict[Outcome, str]] = {
    Outcome.PROCEED: "可以接种",
    Outcome.DEFER: "暂缓接种",
    Outcome.CONTRAINDICATED: "禁止接种",
}
_SEVERITY: Final[dict[Outcome, int]] = {Outcome.PROCEED: 0, Outcome.DEFER: 1, Outcome.CONTRAINDICATED: 2}


@dataclass(frozen=True)
class ScreeningResult:
    """The outcome of pre-screening; the worst finding wins.

    ``defer_until`` is the latest dated deferral (``None`` if there is none); ``defer_condition``
    joins the open-ended ones (``None`` if there is none). ``contraindicated_products`` is ``ALL``, or
    the catalogue codes to avoid (empty when none). Deferral fields are kept even when the outcome is
    CONTRAINDICATED, since a contraindication may cover only some products. ``notes`` are non-blocking
    remarks. ``deferrals`` and ``contraindication`` are the records to store and pass to ``evaluate``:
    a dated and an open-ended deferral stay separate so the open one does not lapse with the date.
    """

    outcome: Outcome
    outcome_zh: str
    defer_until: dt.date | None
    defer_condition: str | None
    contraindicated_products: ProductScope
    reasons: tuple[str, ...]
    notes: tuple[str, ...]
    question_set_version: str
    deferrals: tuple[Deferral, ...] = ()
    contraindication: Contraindication | None = None


_MISSING: Final = object()


def _is_positive(q: Question, value: Any) -> bool:
    """Validate ``value`` for ``q`` and say whether it triggers the rule; raises ``ValueError``."""
    if q.answer_type is AnswerType.BOOL:
        if not isinstance(value, bool):
            raise ValueError(f"{q.code}: “{q.text_zh}”须回答是或否")
        return value
    if q.answer_type is AnswerType.CHOICE:
        if not isinstance(value, str) or (q.choices and value not in q.choices):
            raise ValueError(f"{q.code}: “{q.text_zh}”的回答“{value}”不在可选范围内")
        return value != "no"
    if q.answer_type is AnswerType.TEXT:
        if not isinstance(value, str):
            raise ValueError(f"{q.code}: “{q.text_zh}”须填写文字")
        return bool(value.strip())
    if value is None:
        return False
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValueError(f"{q.code}: “{q.text_zh}”须填写日期")
    return True


def screen(
    *,
    question_set: QuestionSet,
    answers: Mapping[str, Any],
    temperature_c: float | None,
    bp_systolic: int | None,
    bp_diastolic: int | None,
    on: dt.date,
    catalogue: Catalogue | None = None,
) -> ScreeningResult:
    """Apply the question set to the answers and vital signs measured on ``on``.

    Raises ``ValueError`` (message starts with the question code, then Chinese) for a missing answer to
    a required question, an answer of the wrong type, an answer to a question not in the set, a missing
    or implausible temperature, or half a blood pressure. Blood pressure may be omitted altogether.
    A DATE answer of ``None`` means "no". ``catalogue`` lets a severe-reaction answer that names a
    product contraindicate that product's whole platform; without it the answer contraindicates all.
    """
    unknown = sorted(set(answers) - {q.code for q in question_set.questions})
    if unknown:
        raise ValueError(f"{unknown[0]}: 不是预检问题集{question_set.version}中的问题")
    if temperature_c is None:
        raise ValueError("temperature_c: 未测量体温")
    if not 30.0 <= temperature_c <= 45.0:
        raise ValueError(f"temperature_c: 体温{temperature_c}℃不合理")
    if (bp_systolic is None) != (bp_diastolic is None):
        raise ValueError("bp: 收缩压和舒张压须同时填写")

    outcome = Outcome.PROCEED
    dated_reasons: list[str] = []
    open_reasons: list[str] = []
    contra_reasons: list[str] = []
    notes: list[str] = []
    defer_dates: list[dt.date] = []
    conditions: list[str] = []
    contra_all = False
    contra_codes: list[str] = []

    def worsen(to: Outcome) -> None:
        nonlocal outcome
        if _SEVERITY[to] > _SEVERITY[outcome]:
            outcome = to

    for q in question_set.questions:
        value = answers.get(q.code, _MISSING)
        if value is _MISSING or (value is None and q.answer_type is not AnswerType.DATE):
            if q.required:
                raise ValueError(f"{q.code}: 未回答预检问题“{q.text_zh}”")
            continue
        if not _is_positive(q, value):
            continue
        rule = q.rule
        if rule.action is RuleAction.NOTE:
            notes.append(rule.reason_zh)
        elif rule.action is RuleAction.DEFER:
            until = None
            if rule.defer_days_after_answer is not None and isinstance(value, dt.date):
                until = value + days(rule.defer_days_after_answer)
                if until <= on:
                    # The gap has already passed; nothing to defer.
                    continue
            elif rule.defer_days is not None:
                until = on + days(rule.defer_days)
            worsen(Outcome.DEFER)
            if until is not None:
                defer_dates.append(until)
                condition = f"（{rule.defer_condition}）" if rule.defer_condition else ""
                dated_reasons.append(f"{rule.reason_zh}，暂缓至{until.isoformat()}{condition}")
            else:
                conditions.append(rule.defer_condition or "")
                open_reasons.append(rule.reason_zh)
        else:
            worsen(Outcome.CONTRAINDICATED)
            contra_reasons.append(rule.reason_zh)
            named = (
                catalogue.find_product(value)
                if catalogue is not None
                and rule.scope is RuleScope.ANSWERED_PLATFORM
                and isinstance(value, str)
                else None
            )
            if catalogue is not None and named is not None:
                contra_codes += catalogue.codes_on_platform(named.platform)
            else:
                # Unknown which product reacted (or no catalogue to tell): avoid them all.
                contra_all = True

    if temperature_c >= question_set.temp_max_c:
        worsen(Outcome.DEFER)
        until = on + days(question_set.vitals_defer_days)
        defer_dates.append(until)
        dated_reasons.append(
            f"体温{temperature_c:.1f}℃，≥{question_set.temp_max_c:.1f}℃，暂缓至{until.isoformat()}"
        )
    if (
        bp_systolic is not None
        and bp_diastolic is not None
        and (bp_systolic >= question_set.bp_systolic_max or bp_diastolic >= question_set.bp_diastolic_max)
    ):
        worsen(Outcome.DEFER)
        until = on + days(question_set.vitals_defer_days)
        defer_dates.append(until)
        dated_reasons.append(
            f"血压{bp_systolic}/{bp_diastolic}mmHg，达到{question_set.bp_systolic_max}/"
            f"{question_set.bp_diastolic_max}mmHg，暂缓至{until.isoformat()}（血压控制稳定后再接种）"
        )

    scope: ProductScope = ALL if contra_all else tuple(dict.fromkeys(contra_codes))
    defer_until = max(defer_dates) if defer_dates else None
    defer_condition = "；".join(dict.fromkeys(conditions)) or None
    deferrals: list[Deferral] = []
    if defer_until is not None:
        deferrals.append(
            Deferral(until=defer_until, condition=None, reason="预检暂缓：" + "；".join(dated_reasons))
        )
    if defer_condition is not None:
        deferrals.append(
            Deferral(until=None, condition=defer_condition, reason="预检暂缓：" + "；".join(open_reasons))
        )
    contraindication = (
        Contraindication(products=scope, reason="预检禁忌：" + "；".join(contra_reasons))
        if contra_reasons
        else None
    )
    return ScreeningResult(
        outcome=outcome,
        outcome_zh=outcome.label_zh,
        defer_until=defer_until,
        defer_condition=defer_condition,
        contraindicated_products=scope,
        reasons=tuple(contra_reasons + dated_reasons + open_reasons),
        notes=tuple(notes),
        question_set_version=question_set.version,
        deferrals=tuple(deferrals),
        contraindication=contraindication,
    )


def deferrals_from_screening(result: ScreeningResult) -> tuple[Deferral, ...]:
    """The deferrals to store and pass to ``evaluate`` (empty if screening deferred nothing)."""
    return result.deferrals


def contraindication_from_screening(result: ScreeningResult) -> Contraindication | None:
    """The contraindication to store and pass to ``evaluate``; ``None`` if screening found none."""
    return result.contraindication

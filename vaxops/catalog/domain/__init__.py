"""Pure rules of the vaccine catalogue: products, versioned schedules, dose evaluation and forecasting,
pre-screening, campaign phases and booking eligibility.

No Django, no ORM, no clock: every function takes the day it reasons about (``on``) and returns plain,
frozen values, so the same input always gives the same answer and tests need no database.
The default data (the five Chinese products, the 2021/2022 policies, the question sets) is in
``vaxops.catalog.defaults``; the database copy is seeded from it and handed back to these functions
as the same dataclasses.

One module per subject; callers import from the package (``from vaxops.catalog import domain``):

- ``dates``: ages in completed years, the same day years later;
- ``catalogue``: products, schedule versions (intervals, booster rules) and the ``Catalogue`` look-ups;
- ``records``: what a person's record gives the engine (doses, contraindications, deferrals);
- ``forecast``: judging each dose and forecasting the next (``evaluate`` → ``Forecast``);
- ``formats``: the forecast as FHIR ``ImmunizationRecommendation`` and as JSON;
- ``phases``: campaign phases, booking eligibility and the mobilisation lists;
- ``screening``: pre-screening question sets and their outcome.
"""

from .catalogue import (
    ALL,
    BoosterRule,
    Catalogue,
    Interval,
    Platform,
    Product,
    ProductScope,
    SchedulePolicy,
    Scope,
)
from .dates import add_years, age_on
from .forecast import Forecast, JudgedDose, NextDose, Reason, ReasonCode, Status, evaluate
from .formats import forecast_to_dict, to_fhir_recommendation
from .phases import (
    Eligibility,
    EligibilityCode,
    MobilisationCategory,
    Phase,
    booking_eligibility,
    due_note,
    eligible_since,
    mobilisation_category,
)
from .records import Contraindication, Deferral, GivenDose
from .screening import (
    AnswerType,
    Outcome,
    Question,
    QuestionSet,
    Rule,
    RuleAction,
    RuleScope,
    ScreeningResult,
    contraindication_from_screening,
    deferrals_from_screening,
    question_set_for,
    screen,
)

__all__ = [
    "ALL",
    "due_note",
    "eligible_since",
    "AnswerType",
    "BoosterRule",
    "Catalogue",
    "Contraindication",
    "Deferral",
    "Eligibility",
    "EligibilityCode",
    "Forecast",
    "GivenDose",
    "Interval",
    "JudgedDose",
    "MobilisationCategory",
    "NextDose",
    "Outcome",
    "Phase",
    "Platform",
    "Product",
    "ProductScope",
    "Question",
    "QuestionSet",
    "Reason",
    "ReasonCode",
    "Rule",
    "RuleAction",
    "RuleScope",
    "SchedulePolicy",
    "ScreeningResult",
    "Scope",
    "Status",
    "add_years",
    "age_on",
    "booking_eligibility",
    "contraindication_from_screening",
    "deferrals_from_screening",
    "evaluate",
    "forecast_to_dict",
    "mobilisation_category",
    "question_set_for",
    "screen",
    "to_fhir_recommendation",
]

"""The seed's own contraindication list (篇九) is a question-set version a county may choose beside the
technical guide's: loaded not in use; chosen, it decides the screening (哺乳期 then defers)."""

import datetime as dt

import pytest

from vaxops.catalog import domain
from vaxops.catalog.defaults import SEED_VERSION
from vaxops.catalog.models import QuestionSet
from vaxops.catalog.selectors import question_set_on, question_sets_current

pytestmark = pytest.mark.django_db

DAY = dt.date(2021, 4, 1)


def test_the_seed_version_is_loaded_but_not_in_use():
    row = QuestionSet.objects.get(version=SEED_VERSION)
    assert row.in_use is False
    assert SEED_VERSION in [qs.version for qs in question_sets_current()]
    assert question_set_on(DAY).version == "2021-03"


def test_a_county_chooses_it_and_lactation_then_defers():
    assert question_set_on(DAY).question("lactation").rule.action is domain.RuleAction.NOTE
    QuestionSet.objects.filter(version=SEED_VERSION).update(in_use=True, effective_from=dt.date(2021, 3, 15))
    QuestionSet.objects.filter(version="2021-06").update(in_use=False)
    from vaxops.catalog.selectors import catalogue_invalidate

    catalogue_invalidate()
    chosen = question_set_on(DAY)
    assert chosen.version == SEED_VERSION
    lactation = chosen.question("lactation").rule
    assert (lactation.action, lactation.reason_zh) == (domain.RuleAction.DEFER, "哺乳期者不予接种")
    assert chosen.question("mental_illness").rule.action is domain.RuleAction.CONTRAINDICATE
    assert chosen.question("blood_products_date").rule.defer_days_after_answer == 90
    codes = [q.code for q in chosen.questions]
    for code in (
        "hereditary_disease",
        "heart_surgery",
        "major_surgery_recovery",
        "preparing_pregnancy",
        "anaemia",
        "antiviral_treatment",
    ):
        assert code in codes
    assert question_set_on(dt.date(2021, 7, 1)).version == SEED_VERSION  # 2021-06 not in use


def test_the_pure_rule_skips_versions_not_in_use():
    a = domain.QuestionSet(version="a", effective_from=dt.date(2021, 1, 1), questions=())
    b = domain.QuestionSet(version="b", effective_from=dt.date(2021, 2, 1), questions=(), in_use=False)
    assert domain.question_set_for([a, b], dt.date(2021, 3, 1)) is a
    assert domain.question_set_for([b], dt.date(2021, 3, 1)) is None

"""Pre-screening: the question set in force, stored outcome, and deferrals/contraindications that feed the engine."""

from datetime import date, timedelta
from typing import Any

from vaxops.audit.models import AuditEvent
from vaxops.catalog import domain
from vaxops.catalog.errors import CatalogErrorCode
from vaxops.clinic.errors import ClinicErrorCode
from vaxops.clinic.models import Contraindication, Deferral, ScreeningRecord
from vaxops.clinic.selectors import eligibility_for, forecast_for
from vaxops.clinic.services import contraindication_lift, screening_record
from vaxops.core import clock
from vaxops.core.errors import CoreErrorCode
from vaxops.registry.errors import RegistryErrorCode
from vaxops.testing.refusals import refused

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


def screen(actor, resident, changes=None, *, temp=36.6, bp=(120, 80), on=None) -> ScreeningRecord:
    return screening_record(
        actor=actor,
        resident_id=resident.pk,
        answers={**ALL_NO, **(changes or {})},
        temperature_c=temp,
        bp_systolic=bp[0] if bp else None,
        bp_diastolic=bp[1] if bp else None,
        on=on,
    )


class TestScreeningRecord:
    def test_it_proceeds_and_stores_the_record(self, screener, resident_a):
        record = screen(screener, resident_a)

        assert record.outcome == domain.Outcome.PROCEED
        assert record.question_set_version == "2021-06"
        assert record.screened_on == clock.today()
        assert record.screener == screener
        assert record.answers["pregnancy"] is False
        assert not Deferral.objects.exists() and not Contraindication.objects.exists()
        event = AuditEvent.objects.get(action="screening.record")
        assert event.new["outcome"] == "proceed"
        assert "pregnancy" not in str(event.new)

    def test_it_stores_a_fever_deferral_that_makes_the_forecast_deferred(self, screener, resident_a):
        today = clock.today()

        record = screen(screener, resident_a, temp=38.2)

        assert record.outcome == domain.Outcome.DEFER
        assert record.defer_until == today + timedelta(days=7)
        deferral = Deferral.objects.get()
        assert (deferral.until, deferral.screening) == (today + timedelta(days=7), record)
        forecast = forecast_for(resident=resident_a, on=today)
        assert forecast.status is domain.Status.DEFERRED
        assert forecast.deferred_until == today + timedelta(days=7)
        assert forecast.next_dose.earliest == today + timedelta(days=7)
        eligibility = eligibility_for(resident=resident_a, on=today, forecast=forecast)
        assert eligibility.code is domain.EligibilityCode.DEFERRED
        assert (
            forecast_for(resident=resident_a, on=today + timedelta(days=7)).status
            is domain.Status.NOT_STARTED
        )

    def test_it_stores_an_open_ended_deferral_until_a_later_screening_supersedes_it(
        self, screener, resident_a
    ):
        today = clock.today()
        screen(screener, resident_a, {"pregnancy": True}, on=today - timedelta(days=200))
        forecast = forecast_for(resident=resident_a, on=today)
        assert forecast.status is domain.Status.DEFERRED
        assert forecast.deferred_condition == "妊娠结束后"

        screen(screener, resident_a)

        old = Deferral.objects.get()
        assert old.ended_at is not None
        assert old.end_reason == f"由{today.isoformat()}的预检结果取代"
        assert forecast_for(resident=resident_a, on=today).status is domain.Status.NOT_STARTED

    def test_it_stores_a_contraindication_for_all_products(self, screener, resident_a):
        record = screen(screener, resident_a, {"allergy_vaccine_severe": True})

        assert record.outcome == domain.Outcome.CONTRAINDICATED
        assert record.contraindicated_products == "all"
        assert Contraindication.objects.get().products == "all"
        forecast = forecast_for(resident=resident_a, on=clock.today())
        assert forecast.status is domain.Status.CONTRAINDICATED
        assert forecast.next_dose is None

    def test_it_keeps_a_contraindication_through_later_screenings_until_lifted(
        self, cdc, screener, resident_a
    ):
        screen(screener, resident_a, {"covid_dose_severe_reaction": "CoronaVac"})
        screen(screener, resident_a)
        forecast = forecast_for(resident=resident_a, on=clock.today())
        assert forecast.next_dose.allowed_products == ("Convidecia", "ZF2001")

        contraindication_lift(
            actor=cdc,
            contraindication_id=Contraindication.objects.get().pk,
            reason="经复核，既往反应为一般反应",
        )

        assert len(forecast_for(resident=resident_a, on=clock.today()).next_dose.allowed_products) == 5
        assert AuditEvent.objects.filter(action="contraindication.lift").count() == 1

    def test_it_uses_the_question_set_in_force_on_the_day(self, screener, resident_a):
        # 150/95 was above the seed's 140/90 limit (2021-03) but not above 160/100 (2021-06).
        early = screen(screener, resident_a, bp=(150, 95), on=date(2021, 5, 1))
        late = screen(screener, resident_a, bp=(150, 95), on=date(2021, 7, 1))

        assert (early.question_set_version, early.outcome) == ("2021-03", "defer")
        assert (late.question_set_version, late.outcome) == ("2021-06", "proceed")

    def test_it_accepts_a_date_answer_as_text(self, screener, resident_a):
        today = clock.today()

        record = screen(screener, resident_a, {"other_vaccine_date": (today - timedelta(days=3)).isoformat()})

        assert record.defer_until == today + timedelta(days=11)

    def test_it_names_the_unanswered_question(self, screener, resident_a):
        answers = dict(ALL_NO)
        del answers["pregnancy"]

        with refused(ClinicErrorCode.SCREENING_INVALID) as e:
            screening_record(
                actor=screener,
                resident_id=resident_a.pk,
                answers=answers,
                temperature_c=36.5,
                bp_systolic=None,
                bp_diastolic=None,
            )

        assert e.value.field == "pregnancy"
        assert not ScreeningRecord.objects.exists()

    def test_it_refuses_a_day_before_any_question_set(self, screener, resident_a):
        with refused(CatalogErrorCode.QUESTION_SET_MISSING):
            screen(screener, resident_a, on=date(2020, 12, 1))

    def test_it_needs_the_role_and_the_scope(self, worker_a, worker_b, screener, resident_a, resident_b):
        with refused(CoreErrorCode.ROLE_FORBIDDEN):
            screen(worker_a, resident_a)
        with refused(RegistryErrorCode.RESIDENT_NOT_FOUND):
            screen(screener, resident_b)


class TestApi:
    def test_it_screens_and_returns_the_outcome(self, client, screener, resident_a):
        client.force_login(screener)

        r = client.post(
            f"/api/v1/clinic/residents/{resident_a.pk}/screenings",
            {"answers": {**ALL_NO, "acute_illness": True}, "temperature_c": 36.8},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="s-1",
        )

        assert r.status_code == 201, r.content
        body = r.json()
        assert (body["outcome"], body["outcome_zh"]) == ("defer", "暂缓接种")
        assert body["defer_until"] == (clock.today() + timedelta(days=7)).isoformat()
        assert body["reasons"][0].startswith("发热、急性疾病或慢性病急性发作期，暂缓接种")

    def test_it_answers_400_naming_the_question(self, client, screener, resident_a):
        client.force_login(screener)

        r = client.post(
            f"/api/v1/clinic/residents/{resident_a.pk}/screenings",
            {"answers": {**ALL_NO, "pregnancy": "maybe"}, "temperature_c": 36.8},
            content_type="application/json",
        )

        assert r.status_code == 400
        assert r.json()["field"] == "pregnancy"
        assert r.json()["code"] == "screening_invalid"

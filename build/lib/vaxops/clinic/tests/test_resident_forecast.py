"""GET /api/v1/clinic/residents/{id}/forecast and /eligibility: scoped, FHIR-shaped, phase-aware."""

from datetime import date

from vaxops.clinic.models import Dose

from .conftest import B1, make_resident


def get(client, resident, what: str, on: str):
    return client.get(f"/api/v1/clinic/residents/{resident.pk}/{what}?on={on}")


class TestForecast:
    def test_it_returns_the_forecast_and_a_fhir_recommendation(self, client, worker_a, resident_a):
        Dose.objects.create(
            resident=resident_a, product_code="BBIBP-CorV", given_on=date(2021, 4, 1), place="甲镇"
        )
        client.force_login(worker_a)

        r = get(client, resident_a, "forecast", "2021-04-10")

        assert r.status_code == 200, r.content
        body = r.json()
        assert body["resident_id"] == resident_a.pk
        assert body["forecast"]["status"] == "in_progress"
        assert body["forecast"]["next_dose"]["earliest"] == "2021-04-22"
        fhir = body["recommendation"]
        assert fhir["resourceType"] == "ImmunizationRecommendation"
        assert fhir["patient"] == {"reference": f"Patient/{resident_a.pk}"}
        rec = fhir["recommendation"][0]
        assert rec["doseNumberPositiveInt"] == 2
        assert rec["dateCriterion"][0]["value"] == "2021-04-22"
        assert rec["vaccineCode"][0]["coding"][0]["code"] == "BBIBP-CorV"

    def test_it_answers_404_for_a_resident_of_another_village(self, client, worker_b, resident_a):
        client.force_login(worker_b)

        r = get(client, resident_a, "forecast", "2021-04-10")

        assert r.status_code == 404
        assert r.json()["code"] == "resident_not_found"
        assert get(client, resident_a, "eligibility", "2021-04-10").status_code == 404

    def test_it_answers_403_without_the_clinic_permission(self, client, employer_contact, resident_a):
        client.force_login(employer_contact)

        assert get(client, resident_a, "forecast", "2021-04-10").status_code == 403

    def test_it_answers_400_without_a_birth_date(self, client, worker_a, resident_a):
        resident_a.birth_date = None
        resident_a.save()
        client.force_login(worker_a)

        r = get(client, resident_a, "forecast", "2021-04-10")

        assert r.status_code == 400
        assert r.json()["field"] == "birth_date"


class TestEligibility:
    def test_it_waits_for_the_phase_of_the_persons_group(self, client, cdc, resident_a):
        client.force_login(cdc)

        r = get(client, resident_a, "eligibility", "2021-02-01")

        assert r.status_code == 200
        assert r.json() == {
            "resident_id": resident_a.pk,
            "on": "2021-02-01",
            "allowed": False,
            "code": "no_open_phase",
            "reason_zh": "所属人群尚未开放接种，2021-04-01起可预约",
            "earliest": "2021-04-01",
            "priority_group": "general",
        }

    def test_it_admits_a_key_group_in_phase_one(self, client, cdc, county):
        medic = make_resident(B1, 7, "赵医生", group="medical")
        client.force_login(cdc)

        body = get(client, medic, "eligibility", "2021-02-01").json()

        assert (body["allowed"], body["reason_zh"]) == (True, "可以预约第1剂")

    def test_it_books_a_second_dose_whatever_the_phase(self, client, cdc, resident_a):
        Dose.objects.create(
            resident=resident_a, product_code="CoronaVac", given_on=date(2021, 1, 10), place="外地"
        )
        client.force_login(cdc)

        body = get(client, resident_a, "eligibility", "2021-02-01").json()

        assert (body["allowed"], body["code"]) == (True, "allowed")

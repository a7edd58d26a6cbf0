"""/api/v1/catalog and the read-only catalogue page."""

import pytest

from vaxops.catalog.models import Phase, PhaseTarget

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class TestOpenApi:
    def test_it_documents_the_catalogue_forecast_and_clinic_paths(self, client):
        paths = client.get("/api/v1/openapi.json").json()["paths"]

        for p in (
            "/api/v1/catalog/products",
            "/api/v1/catalog/question-set",
            "/api/v1/catalog/phases",
            "/api/v1/forecast",
            "/api/v1/clinic/residents/{resident_id}/forecast",
            "/api/v1/clinic/residents/{resident_id}/eligibility",
            "/api/v1/clinic/residents/{resident_id}/doses",
            "/api/v1/clinic/residents/{resident_id}/screenings",
            "/api/v1/clinic/doses/{dose_id}/void",
            "/api/v1/clinic/doses/{dose_id}/correct",
        ):
            assert p in paths, p


class TestProducts:
    def test_it_lists_products_with_their_schedule_versions(self, client, worker_a):
        client.force_login(worker_a)

        body = client.get("/api/v1/catalog/products").json()

        assert [p["code"] for p in body] == ["BBIBP-CorV", "WIBP-CorV", "CoronaVac", "Convidecia", "ZF2001"]
        bbibp = body[0]
        assert (bbibp["platform"], bbibp["platform_zh"], bbibp["trace_prefixes"]) == (
            "inactivated",
            "灭活疫苗",
            ["8100101"],
        )
        assert [(v["effective_from"], v["booster"]["min_days_after_primary"]) for v in bbibp["policies"]] == [
            ("2021-01-01", 180),
            ("2022-02-19", 90),
        ]
        assert bbibp["policies"][0]["intervals"] == [
            {"min_days": 21, "recommended_days": 21, "latest_days": None, "latest_from_dose1_days": 56}
        ]
        assert body[4]["dcc_mp"] is None
        assert body[4]["policies"][0]["booster"] is None

    def test_it_needs_authentication(self, client):
        assert client.get("/api/v1/catalog/products").status_code == 401


class TestQuestionSet:
    def test_it_returns_the_version_in_force(self, client, worker_a):
        client.force_login(worker_a)

        early = client.get("/api/v1/catalog/question-set?on=2021-04-01").json()
        late = client.get("/api/v1/catalog/question-set?on=2021-07-01").json()

        assert (early["version"], early["bp_systolic_max"]) == ("2021-03", 140)
        assert (late["version"], late["bp_systolic_max"]) == ("2021-06", 160)
        pregnancy = next(q for q in late["questions"] if q["code"] == "pregnancy")
        assert pregnancy["text_en"] == "Currently pregnant?"
        assert pregnancy["rule"] == {
            "action": "defer",
            "reason_zh": "妊娠期暂缓接种",
            "scope": "all_products",
            "defer_days": None,
            "defer_days_after_answer": None,
            "defer_condition": "妊娠结束后",
        }

    def test_it_answers_404_before_the_first_version(self, client, worker_a):
        client.force_login(worker_a)

        r = client.get("/api/v1/catalog/question-set?on=2020-01-01")

        assert r.status_code == 404
        assert r.json()["code"] == "question_set_missing"


class TestPage:
    def test_it_shows_products_versions_phases_and_question_sets(self, client, worker_a, county):
        PhaseTarget.objects.create(
            phase=Phase.objects.get(code="step1_phase1"), division=county, target_people=12000
        )
        client.force_login(worker_a)

        r = client.get("/catalog/")

        assert r.status_code == 200
        html = r.content.decode()
        assert 'id="product-ZF2001"' in html
        assert "第1→2剂 ≥21天，距第1剂不超过56天" in html
        assert "完成全程后≥90天" in html
        assert "12000人（1个区划）" in html
        assert "2021-06" in html
        assert 'href="/catalog/"' in html

    def test_it_is_closed_to_a_role_without_the_permission(self, client, leader):
        client.force_login(leader)

        assert client.get("/catalog/").status_code == 403

"""The 接种评估 page (/clinic/residents/<id>/) and the 预检 page (/clinic/residents/<id>/screening/)."""

from datetime import date, timedelta

from vaxops.clinic.models import Dose, ScreeningRecord
from vaxops.core import clock

ANSWERS = {
    "q_allergy_vaccine_severe": "no",
    "q_allergy_component": "no",
    "q_covid_dose_severe_reaction": "no",
    "q_neurological": "no",
    "q_acute_illness": "no",
    "q_chronic_uncontrolled": "no",
    "q_pregnancy": "no",
    "q_lactation": "no",
    "q_other_vaccine_date": "",
    "q_remarks": "",
}


class TestAssessmentPage:
    def test_it_shows_status_next_dose_eligibility_and_history(self, client, worker_a, resident_a):
        Dose.objects.create(
            resident=resident_a, product_code="BBIBP-CorV", given_on=date(2021, 4, 1), place="甲镇"
        )
        client.force_login(worker_a)

        r = client.get(f"/clinic/residents/{resident_a.pk}/?on=2021-04-10")

        assert r.status_code == 200
        html = r.content.decode()
        assert "接种中" in html
        assert "第2剂" in html and "2021-04-22" in html
        assert "未到接种时间，第2剂最早可于2021-04-22接种" in html
        assert "第1剂 · 有效" in html
        assert 'id="add-dose"' in html
        assert resident_a.id_number not in html

    def test_it_adds_an_external_dose_and_shows_errors_in_chinese(self, client, worker_a, resident_a):
        client.force_login(worker_a)
        url = f"/clinic/residents/{resident_a.pk}/"

        ok = client.post(
            url, {"product": "CoronaVac", "given_on": "2021-05-01", "place": "上海市徐汇区接种点"}
        )
        again = client.post(
            url, {"product": "CoronaVac", "given_on": "2021-05-01", "place": "上海市徐汇区接种点"}
        )

        assert ok.status_code == 302
        assert Dose.objects.get().external
        assert again.status_code == 400
        assert "该居民2021-05-01已有CoronaVac的接种记录" in again.content.decode()

    def test_it_voids_a_dose_from_the_page(self, client, worker_a, resident_a):
        dose = Dose.objects.create(
            resident=resident_a,
            product_code="CoronaVac",
            given_on=date(2021, 5, 1),
            place="上海",
            external=True,
        )
        client.force_login(worker_a)

        r = client.post(f"/clinic/doses/{dose.pk}/void/", {"reason": "凭证看错"})

        assert r.status_code == 302
        dose.refresh_from_db()
        assert dose.void_reason == "凭证看错"
        assert "已作废" in client.get(r["Location"]).content.decode()

    def test_it_answers_404_outside_the_scope(self, client, worker_b, resident_a):
        client.force_login(worker_b)

        assert client.get(f"/clinic/residents/{resident_a.pk}/").status_code == 404


class TestScreeningPage:
    def test_it_renders_the_question_set_in_force_in_chinese_with_english_on_request(
        self, client, screener, resident_a
    ):
        client.force_login(screener)
        url = f"/clinic/residents/{resident_a.pk}/screening/"

        zh = client.get(url).content.decode()
        en = client.get(url + "?en=1").content.decode()

        assert "目前是否怀孕？" in zh and "Currently pregnant?" not in zh
        assert "Currently pregnant?" in en
        assert "160/100" in zh

    def test_it_records_and_shows_the_outcome(self, client, screener, resident_a):
        client.force_login(screener)
        url = f"/clinic/residents/{resident_a.pk}/screening/"

        r = client.post(url, {**ANSWERS, "temperature_c": "37.6", "bp_systolic": "120", "bp_diastolic": "80"})

        assert r.status_code == 302
        record = ScreeningRecord.objects.get()
        assert record.outcome == "defer"
        page = client.get(r["Location"]).content.decode()
        assert "暂缓接种" in page
        assert f"暂缓至{(clock.today() + timedelta(days=7)).isoformat()}" in page

    def test_it_insists_on_every_yes_no_answer(self, client, screener, resident_a):
        client.force_login(screener)
        answers = {k: v for k, v in ANSWERS.items() if k != "q_pregnancy"}

        r = client.post(f"/clinic/residents/{resident_a.pk}/screening/", {**answers, "temperature_c": "36.5"})

        assert r.status_code == 400
        assert not ScreeningRecord.objects.exists()

    def test_it_shows_the_form_only_to_screening_staff(self, client, vaccinator, resident_a):
        client.force_login(vaccinator)

        r = client.get(f"/clinic/residents/{resident_a.pk}/screening/")

        assert r.status_code == 200
        assert 'id="screening-form"' not in r.content.decode()
        assert client.post(f"/clinic/residents/{resident_a.pk}/screening/", ANSWERS).status_code == 403

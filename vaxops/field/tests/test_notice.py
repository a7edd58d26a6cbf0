"""The notice on the wall follows the rules in force: the phases open today, the question set in force, the
site's hours, its paired hospital's phone, and a QR for the site's booking page; the same as PDF."""

import datetime as dt

import pytest
from django.utils import timezone

from vaxops.certs.document import font_available
from vaxops.field.notice import notice_facts

pytestmark = pytest.mark.django_db


@pytest.fixture
def a_site(village_a1):
    from vaxops.booking.tests.factories import site

    return site(village_a1)


def test_the_notice_is_made_from_the_rules_in_force(a_site):
    facts = notice_facts(site=a_site, on=dt.date(2021, 4, 1))
    assert "对疫苗成分过敏，禁止接种" in facts["never"]
    assert "妊娠期暂缓接种" in facts["wait"]
    assert facts["question_set"] == "2021-03"
    assert facts["hours"][0] == {"day": "星期一", "times": "08:00—12:00"}
    assert facts["hospital"] == "清溪县人民医院"
    assert facts["booking_path"] == "/book/slots/?site=S1"
    assert facts["phases"], "a phase is open on 2021-04-01"


def test_a_chosen_question_set_changes_the_poster(a_site):
    from vaxops.catalog.defaults import SEED_VERSION
    from vaxops.catalog.models import QuestionSet
    from vaxops.catalog.selectors import catalogue_invalidate

    QuestionSet.objects.filter(version=SEED_VERSION).update(in_use=True, effective_from=dt.date(2021, 3, 15))
    catalogue_invalidate()
    facts = notice_facts(site=a_site, on=dt.date(2021, 4, 1))
    assert "哺乳期者不予接种" in facts["wait"]
    assert "精神类疾病（包括抑郁症）者不予接种" in facts["never"]


def test_the_paired_hospital_gives_the_phone(a_site, county):
    from vaxops.safety.models import Hospital, SitePairing

    h = Hospital.objects.create(
        name="清溪县中医院", level="2", phone="0571-1234567", reporter_name="刘", division=county
    )
    SitePairing.objects.create(site=a_site, hospital=h)
    facts = notice_facts(site=a_site, on=timezone.localdate())
    assert (facts["hospital"], facts["hospital_phone"]) == ("清溪县中医院", "0571-1234567")


def test_the_page_and_the_pdf(client, cdc, a_site):
    client.force_login(cdc)
    body = client.get(f"/field/notice/{a_site.code}/?size=A3").content.decode()
    assert (
        "新冠病毒疫苗接种注意事项" in body
        and "<svg" in body
        and "http://testserver/book/slots/?site=S1" in body
    )
    assert "notice-a3.css" in body
    if not font_available():
        pytest.skip("no CJK TrueType font installed")
    r = client.get(f"/field/notice/{a_site.code}/notice.pdf?size=A3")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r.content.startswith(b"%PDF") and len(r.content) > 5000

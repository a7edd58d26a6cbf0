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
    import re

    for size in ("A3", "A4"):
        r = client.get(f"/field/notice/{a_site.code}/notice.pdf?size={size}")
        assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
        assert r.content.startswith(b"%PDF") and len(r.content) > 5000
        assert len(re.findall(rb"/Type\s*/Page(?!s)", r.content)) == 1, f"{size}: one sheet"


def test_the_common_reactions_are_the_consent_texts_in_force(a_site):
    from vaxops.clinic.models import ConsentText

    facts = notice_facts(site=a_site, on=dt.date(2021, 4, 1))
    assert facts["reactions"] == [
        "接种部位疼痛、红肿、硬结，发热、乏力、头痛等，一般无需处理，2～3天内可自行缓解",
        "极少数人可能出现过敏反应等严重不良反应",
        "接种后须在接种点留观30分钟",
        "回家后如有不适，请及时就医并报告接种单位",
    ]  # five products share the text: each reaction once

    # A revised text of one product in use, in force from 2021-05-01, adds what it says from that day.
    first = ConsentText.objects.filter(product_code="BBIBP-CorV").get()
    ConsentText.objects.create(
        product_code="BBIBP-CorV",
        version="2021.2",
        effective_from=dt.date(2021, 5, 1),
        title=first.title,
        text=first.text.replace("头痛等", "头痛、肌肉痛等"),
    )
    assert "肌肉痛" not in "".join(notice_facts(site=a_site, on=dt.date(2021, 4, 30))["reactions"])
    assert "肌肉痛" in "".join(notice_facts(site=a_site, on=dt.date(2021, 5, 1))["reactions"])


def test_reactions_from_consent_texts():
    from vaxops.field.notice import reactions_from_consents

    text = "某疫苗知情同意书\n\n一、作用：预防。\n二、可能出现的反应：局部红肿；\n低热。\n三、本人同意。"
    assert reactions_from_consents([text, text]) == ["局部红肿", "低热"]
    assert reactions_from_consents(["一、作用：预防。\n二、本人同意。"]) == []


def test_without_a_section_on_reactions_the_poster_keeps_the_seed_sentences(a_site):
    from vaxops.clinic.models import ConsentText
    from vaxops.field.notice import REACTIONS

    ConsentText.objects.update(text="一、疫苗作用：预防。\n二、本人自愿接种。")
    assert notice_facts(site=a_site, on=dt.date(2021, 4, 1))["reactions"] == list(REACTIONS)

"""The weekly bulletin: bands and ranking (pure), its figures counted from a week of doses, drafting and
publishing (audited, idempotent, frozen once published), and its PDF and XLSX read back."""

import io
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from vaxops.audit.models import AuditEvent
from vaxops.catalog.models import Phase, PhaseTarget
from vaxops.clinic.tests.conftest import make_resident
from vaxops.jurisdictions.models import Division
from vaxops.registry.models import Employer, Sector
from vaxops.reports import bulletin_services, domain
from vaxops.reports.bulletin import bulletin_figures
from vaxops.reports.bulletin_documents import bulletin_pdf, bulletin_xlsx
from vaxops.reports.domain import Band
from vaxops.reports.models import WeeklyBulletin
from vaxops.testing.refusals import refused

from .conftest import DAY, dose

MONDAY = date(2021, 6, 7)  # the week of DAY (Thursday 10 June 2021)


# ------------------------------------------------------------------------------------------ pure


@pytest.mark.parametrize(
    ("coverage", "progress", "expected"),
    [
        (Fraction(90, 100), None, Band.GREEN),  # coverage reached: green whatever the week
        (Fraction(89, 100), None, Band.YELLOW),
        (Fraction(10, 100), Fraction(1), Band.GREEN),  # the week's quota done
        (Fraction(89, 100), Fraction(99, 100), Band.YELLOW),
        (Fraction(60, 100), Fraction(0), Band.YELLOW),  # coverage at the red line is not red
        (Fraction(59, 100), Fraction(60, 100), Band.YELLOW),  # progress at the red line is not red
        (Fraction(59, 100), Fraction(59, 100), Band.RED),
        (None, None, Band.RED),
    ],
)
def test_the_bands_follow_the_named_thresholds(coverage, progress, expected):
    assert domain.band(coverage, progress) is expected


def test_ranking_shares_ties_and_puts_units_without_a_figure_last():
    ranked = domain.rank(
        {"a": Fraction(1, 2), "b": Fraction(3, 4), "c": Fraction(1, 2), "d": None, "e": Fraction(0)}
    )
    assert [(r.key, r.rank) for r in ranked] == [("b", 1), ("a", 2), ("c", 2), ("e", 4), ("d", 0)]
    assert domain.rank({}) == []


def test_week_of_and_its_label():
    assert domain.week_of(DAY) == (MONDAY, date(2021, 6, 13))
    assert domain.week_label(MONDAY) == "2021年第23周（6月7日—6月13日）"
    assert domain.change(15, 10) == (5, Fraction(1, 2)) and domain.change(3, 0) == (3, None)


# ---------------------------------------------------------------------------------------- figures


@pytest.fixture
def week(history):
    """On top of the history: a target for 甲镇 of 70 people by the week's end (10 a day), and a sector with
    an employer whose two staff live in 乙镇, one vaccinated this week."""
    phase = Phase.objects.create(code="p-bulletin", name_zh="第一阶段", starts_on=date(2021, 6, 7))
    ta = Division.objects.get(code="330199001000")
    PhaseTarget.objects.create(phase=phase, division=ta, target_people=70, deadline=date(2021, 6, 13))
    county = Division.objects.get(code="330199000000")
    sector = Sector.objects.create(code="S-EDU", name="县教育局", division=county)
    school = Employer.objects.create(code="E-SCH", name="清溪中学", division=county, sector=sector)
    t1 = make_resident("330199002002", 11, "周老师")
    t2 = make_resident("330199002002", 12, "吴老师")
    for t in (t1, t2):
        t.employer = school
        t.save()
    dose(t1, date(2021, 6, 8))
    return county


def test_the_figures_rank_townships_sectors_and_employers(week):
    f = bulletin_figures(county=week, week_start=DAY)
    assert (f["week_start"], f["week_end"]) == ("2021-06-07", "2021-06-13")
    t = f["totals"]
    # this week: 王芳 dose 2, 李强 dose 1, 赵敏 booster (DAY), 孙丽 dose 1 (11 June), 周老师 dose 1 (8 June);
    # the week before: 赵敏's external dose 1; 钱进's voided dose counts nowhere
    assert (t["week_doses"], t["previous_week_doses"]) == (5, 1)
    assert (t["week_people"], t["previous_week_people"]) == (3, 1)
    towns = {u["code"]: u for u in f["townships"]}
    a, b = towns["330199001000"], towns["330199002000"]
    assert a["week_people"] == 2 and a["week_quota"] == 70 and a["progress_text"] == "2.9%"
    assert b["week_quota"] is None or b["week_quota"] == 0
    assert a["band"] in {"red", "yellow", "green"} and a["band_label"] in "红黄绿"
    assert [s["name"] for s in f["sectors"]] == ["县教育局"]
    assert f["sectors"][0]["people_first_dose"] == 1 and f["sectors"][0]["coverage_text"] == "50.0%"
    assert f["employers"][0]["sector"] == "县教育局" and f["employers"][0]["rank_coverage"] == 1


# ---------------------------------------------------------------------------------------- services


@pytest.fixture
def next_tuesday(monkeypatch):
    monkeypatch.setattr(
        "vaxops.core.clock.now", lambda: datetime(2021, 6, 15, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    )


def test_the_county_drafts_publishes_once_and_the_bulletin_is_frozen(week, cdc, next_tuesday):
    b = bulletin_services.weekly_bulletin_draft(actor=cdc, week_start=DAY)
    assert b.status == "draft" and b.week_start == MONDAY
    again = bulletin_services.weekly_bulletin_draft(actor=cdc, week_start=MONDAY + timedelta(days=3))
    assert again.pk == b.pk  # one bulletin per county and week, made again while a draft
    published = bulletin_services.weekly_bulletin_publish(actor=cdc, bulletin_id=b.pk)
    assert published.status == "published" and published.published_by == cdc
    first_at = published.published_at
    assert bulletin_services.weekly_bulletin_publish(actor=cdc, bulletin_id=b.pk).published_at == first_at
    assert AuditEvent.objects.filter(action="weekly_bulletin.publish").count() == 1
    assert (
        AuditEvent.objects.filter(action__in=["weekly_bulletin.draft", "weekly_bulletin.redraft"]).count()
        == 2
    )
    snapshot = WeeklyBulletin.objects.get(pk=b.pk).figures
    dose(make_resident("330199001001", 30, "郑新"), DAY)  # a late record does not change a published bulletin
    with refused("bulletin_published"):
        bulletin_services.weekly_bulletin_draft(actor=cdc, week_start=DAY)
    assert WeeklyBulletin.objects.get(pk=b.pk).figures == snapshot


def test_a_week_not_over_and_a_township_are_refused(week, cdc, leader, next_tuesday):
    with refused("bulletin_week_not_over"):
        bulletin_services.weekly_bulletin_draft(actor=cdc, week_start=date(2021, 6, 14))
    with refused("role_forbidden"):
        bulletin_services.weekly_bulletin_draft(actor=leader, week_start=DAY)


# ---------------------------------------------------------------------------------------- documents


def test_the_xlsx_holds_the_totals_and_each_ranking(week):
    f = bulletin_figures(county=week, week_start=DAY)
    wb = openpyxl.load_workbook(io.BytesIO(bulletin_xlsx(f)))
    assert wb.sheetnames == ["概况", "乡镇（街道）排名", "行业主管部门排名", "单位排名"]
    summary = list(wb["概况"].iter_rows(values_only=True))
    assert summary[0][1] == "2021年第23周（6月7日—6月13日）"
    assert summary[2][:2] == ("本周接种剂次", 5)
    towns = list(wb["乡镇（街道）排名"].iter_rows(values_only=True))
    assert towns[0][3] == "名称" and {r[2] for r in towns[1:]} == {"330199001000", "330199002000"}
    assert list(wb["单位排名"].iter_rows(values_only=True))[1][3] == "清溪中学"


def test_the_pdf_is_chinese_text_with_the_rankings(week):
    from vaxops.certs.document import font_available

    if not font_available():
        pytest.skip("no Chinese TrueType font: make fonts")
    import pypdfium2

    f = bulletin_figures(county=week, week_start=DAY)
    pdf = pypdfium2.PdfDocument(bulletin_pdf(f, status_text="已发布"))
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    for words in (
        "清溪县新冠病毒疫苗接种工作周通报",
        "2021年第23周",
        "甲镇",
        "乙镇",
        "县教育局",
        "清溪中学",
        "本周接种剂次",
    ):
        assert words in text, words


# ---------------------------------------------------------------------------------------- pages


def test_the_pages_draft_review_publish_and_download(week, cdc, leader, client, next_tuesday):
    client.force_login(leader)
    assert "生成通报草稿" not in client.get("/reports/bulletins/").content.decode()
    client.force_login(cdc)
    answer = client.post("/reports/bulletins/draft/", {"week": "2021-06-09"})
    b = WeeklyBulletin.objects.get()
    assert answer["Location"] == f"/reports/bulletins/{b.pk}/"
    page = client.get(answer["Location"]).content.decode()
    assert "审核无误，发布" in page and 'data-section="townships"' in page and "县教育局" in page
    client.force_login(leader)
    assert client.get(f"/reports/bulletins/{b.pk}/").status_code == 404  # a draft is the county's
    client.force_login(cdc)
    client.post(f"/reports/bulletins/{b.pk}/publish/")
    client.force_login(leader)
    page = client.get("/reports/bulletins/").content.decode()
    assert "2021年第23周" in page and "已发布" in page
    xlsx = client.get(f"/reports/bulletins/{b.pk}.xlsx")
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "概况"
    pdf = client.get(f"/reports/bulletins/{b.pk}.pdf")
    assert pdf.status_code in (200, 400) and (pdf.status_code == 400 or pdf.content[:5] == b"%PDF-")


def test_the_figures_from_the_facts_equal_a_recount_of_the_records_for_random_weeks(week, cdc):
    """The bulletin reads the progress facts; for random people, employers, doses, boosters, external and
    voided doses around the week, every figure equals the records' recount (``recount=True``)."""
    import random

    from vaxops.clinic import services as clinic

    rng = random.Random(7)
    school = Employer.objects.get(code="E-SCH")
    other = Employer.objects.create(code="E-HOS", name="县人民医院", division=week)
    villages = ["330199001001", "330199001002", "330199002001", "330199002002"]
    people = []
    for i in range(40):
        p = make_resident(rng.choice(villages), 40 + i, f"人{i}", birth=date(rng.randint(1940, 2005), 1, 1))
        if rng.random() < 0.5:
            p.employer = rng.choice([school, other])
            p.save()
        people.append(p)
    given = []
    for p in people:
        for _ in range(rng.randint(0, 3)):
            on = MONDAY + timedelta(days=rng.randint(-20, 10))
            given.append(
                dose(
                    p,
                    on,
                    product=rng.choice(["BBIBP-CorV", "CoronaVac", "Convidecia"]),
                    booster=rng.random() < 0.2,
                    external=rng.random() < 0.3,
                )
            )
    for d in rng.sample(given, len(given) // 5):
        clinic.dose_void(actor=cdc, dose_id=d.pk, reason="登记错误")
    for start in (MONDAY - timedelta(days=7), MONDAY, MONDAY + timedelta(days=7)):
        facts = bulletin_figures(county=week, week_start=start)
        assert facts == bulletin_figures(county=week, week_start=start, recount=True), start
    assert facts["totals"]["week_doses"] or facts["totals"]["previous_week_doses"]

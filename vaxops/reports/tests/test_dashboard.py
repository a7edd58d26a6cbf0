"""The dashboard's figures, counted from a small history (see conftest): doses by kind per day, coverage per
township and village, bands, groups, the funnel and the running totals."""

from datetime import date

import pytest

from vaxops.accounts.scope import Scope
from vaxops.reports.dashboard import dashboard_data

from .conftest import DAY

pytestmark = pytest.mark.django_db

ALL = Scope(unrestricted=True, label="全部")


def test_dose_series_counts_each_kind_on_its_day(history):
    data = dashboard_data(scope=ALL, day=DAY, start=date(2021, 5, 20))
    s = data["series"]
    assert s["step"] == "day"
    i = s["points"].index(DAY.isoformat())
    # 王芳's dose 2 and 李强's dose 1 today; 赵敏's booster today; 钱进's voided dose and 孙丽's tomorrow left out
    assert (s["dose1"][i], s["dose2"][i], s["booster"][i]) == (1, 1, 1)
    first = s["points"].index("2021-05-20")
    assert s["dose1"][first] == 1
    assert sum(s["dose1"]) == 3  # 王芳 5-20, 赵敏 6-01 (external), 李强 today


def test_coverage_by_township_and_funnel(history):
    data = dashboard_data(scope=ALL, day=DAY)
    rows = {r["division"]: r for r in data["by_division"]}
    assert rows["330199001000"]["people_first_dose"] == 2
    assert rows["330199002000"]["people_first_dose"] == 1
    funnel = {r["stage"]: r["people"] for r in data["funnel"]}
    assert funnel == {"首剂": 3, "全程接种": 1, "加强免疫": 1}
    assert data["totals"]["doses"] == 5
    assert data["totals"]["people_first_dose"] == 3


def test_a_township_sees_its_villages(history):
    data = dashboard_data(scope=ALL, day=DAY, division_code="330199001")
    assert {r["division"][:9] for r in data["by_division"]} == {"330199001"}
    by_code = {r["division"]: r["people_first_dose"] for r in data["by_division"]}
    assert by_code["330199001001"] == 1 and by_code["330199001002"] == 1


def test_the_page_prints_each_charts_numbers_and_the_api_returns_the_same(history, client, leader):
    client.force_login(leader)
    page = client.get("/reports/dashboard/", {"date": DAY.isoformat()}).content.decode()
    assert 'data-chart="by_division"' in page and 'data-table="by_division"' in page
    assert 'id="dashboard-data"' in page and "大屏模式" in page
    api = client.get("/api/v1/reports/dashboard", {"date": DAY.isoformat()}).json()
    assert api["totals"]["doses"] == 5
    assert [r["people_first_dose"] for r in api["by_division"]] == [2, 1]
    assert (
        client.get("/reports/dashboard/", {"screen": "big"}).content.decode().count('class="dashboard big"')
        == 1
    )


def test_each_chart_downloads_as_xlsx(history, client, leader):
    import io

    import openpyxl

    client.force_login(leader)
    answer = client.get("/reports/dashboard/by_division.xlsx", {"date": DAY.isoformat()})
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("区划代码", "名称")
    assert [(r[0], r[3]) for r in rows[1:]] == [("330199001000", 2), ("330199002000", 1)]
    assert client.get("/reports/dashboard/nothing.xlsx").status_code == 404


def test_the_dashboard_is_refused_without_its_permission(history, client, auditor):
    client.force_login(auditor)
    assert client.get("/reports/dashboard/").status_code == 403
    assert client.get("/api/v1/reports/dashboard").json()["code"] == "role_forbidden"


def test_the_api_answers_far_dates_and_refuses_a_village_or_unknown_division(history, client, leader):
    client.force_login(leader)
    far = client.get("/api/v1/reports/dashboard", {"date": "2100-12-31", "start": "1900-01-01"})
    assert far.status_code == 200 and far.json()["series"]["step"] == "week"
    assert client.get("/api/v1/reports/dashboard", {"date": "1900-01-01"}).status_code == 200
    assert (
        client.get("/api/v1/reports/dashboard", {"division": "330199001001"}).json()["code"]
        == "report_division_level"
    )
    assert (
        client.get("/api/v1/reports/dashboard", {"division": "999999"}).json()["code"]
        == "report_division_not_found"
    )


def test_without_the_chart_library_the_page_says_so_and_keeps_its_tables(
    history, client, leader, settings, tmp_path
):
    settings.VAXOPS_NODE_MODULES = tmp_path / "node_modules"
    settings.STATIC_ROOT = tmp_path / "static"
    client.force_login(leader)
    page = client.get("/reports/dashboard/", {"date": DAY.isoformat()}).content.decode()
    assert 'id="charts-missing"' in page and "npm" in page
    assert "echarts.min.js" not in page
    assert 'data-table="by_division"' in page


def test_by_group_shows_coverage_where_the_county_loaded_the_groups_count(history, client, leader):
    from vaxops.clinic.tests.conftest import make_resident
    from vaxops.jurisdictions.models import Division
    from vaxops.registry.models import PriorityGroup
    from vaxops.reports.dashboard import chart_table
    from vaxops.reports.models import GroupPopulation

    from .conftest import dose

    doctor = make_resident("330199001001", 60, "医生甲", group="medical")
    make_resident("330199001002", 61, "医生乙", group="medical")
    teacher = make_resident("330199002001", 62, "老师甲", group="education")
    dose(doctor, DAY)
    dose(teacher, DAY)
    county = Division.objects.get(code="330199000000")
    medical = PriorityGroup.objects.get(code="medical")
    GroupPopulation.objects.create(
        division=county, year=2020, group=medical, total=8
    )  # the latest year ≤ 2021
    GroupPopulation.objects.create(division=county, year=2022, group=medical, total=1000)  # not yet
    rows = {r["group"]: r for r in dashboard_data(scope=ALL, day=DAY)["by_group"]}
    assert rows["医疗卫生人员"]["population"] == 8 and rows["医疗卫生人员"]["coverage"] == 12.5
    assert rows["教育工作者"]["population"] is None and rows["教育工作者"]["coverage"] is None
    assert rows["教育工作者"]["people_first_dose"] == 1
    headers, table = chart_table(dashboard_data(scope=ALL, day=DAY), "by_group")
    assert headers[-1] == "覆盖率（%）" and ["医疗卫生人员", 8, 1, 0, 0, 12.5] in table
    # a township reads its own groups' counts: none loaded for 甲镇
    township = {
        r["group"]: r for r in dashboard_data(scope=ALL, day=DAY, division_code="330199001")["by_group"]
    }
    assert township["医疗卫生人员"]["coverage"] is None
    client.force_login(leader)
    api = client.get("/api/v1/reports/dashboard", {"date": DAY.isoformat()}).json()
    assert {r["group"]: r["coverage"] for r in api["by_group"]}["医疗卫生人员"] == 12.5

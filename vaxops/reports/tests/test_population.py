"""``vaxops load-population``: denominators from a CSV or XLSX, bad rows named, counts that add up."""

import io
import json

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from vaxops.audit.models import AuditEvent
from vaxops.core.actors import SystemActor
from vaxops.core.errors import PermissionDenied
from vaxops.reports.models import Population
from vaxops.reports.services import population_import
from vaxops.reports.tables import population_table_open

HEADER = "区划代码,区划名称,年份,人口口径,总人口,18岁及以上,60岁及以上\n"


def _load(tmp_path, text: str, *args, name="pop.csv", encoding="utf-8") -> dict:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    out = io.StringIO()
    call_command("load-population", str(path), "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_good_rows_are_kept_bad_ones_named_and_the_counts_add_up(county, tmp_path):
    result = _load(
        tmp_path,
        HEADER
        + "330199,清溪县,2021,户籍,50000,40000,9000\n"
        + "330199001,甲镇,2021,户籍,20000,16000,4000\n"
        + "330199002,乙镇,2021,常住,,16000,4000\n"  # row 4: no total
        + "330199009,丙镇,2021,户籍,100,80,10\n"  # row 5: not in the division list
        + "330199001,甲镇,2021,户籍,20001,16000,4000\n"  # row 6: the same key as row 3
        + "330199002001,A村,2021,常住,800,900,100\n",  # row 7: 18+ more than everyone
    )
    assert (
        result["read"],
        result["created"],
        result["updated"],
        result["unchanged"],
        result["rejected"],
    ) == (
        6,
        2,
        0,
        0,
        4,
    )
    assert result["read"] == result["created"] + result["updated"] + result["unchanged"] + result["rejected"]
    by_row = {e["row"]: e for e in result["errors"]}
    assert set(by_row) == {4, 5, 6, 7}
    assert by_row[4]["column"] == "总人口" and "不能为空" in by_row[4]["message"]
    assert by_row[5]["column"] == "区划代码" and "330199009000" in by_row[5]["message"]
    assert "与第3行重复" in by_row[6]["message"]
    assert by_row[7]["column"] == "18岁及以上"
    county_row = Population.objects.get(division__code="330199000000", year=2021, kind="registered")
    assert (county_row.total, county_row.age_18_plus, county_row.age_60_plus) == (50000, 40000, 9000)
    assert AuditEvent.objects.filter(action="population.import").count() == 2


def test_loading_again_updates_what_changed_and_leaves_the_rest(county, tmp_path):
    _load(
        tmp_path,
        HEADER + "330199001,甲镇,2021,户籍,20000,16000,4000\n330199002,乙镇,2021,户籍,18000,15000,3900\n",
    )
    events = AuditEvent.objects.filter(action="population.import").count()
    again = _load(
        tmp_path,
        HEADER + "330199001,甲镇,2021,户籍,20500,16000,4000\n330199002,乙镇,2021,户籍,18000,15000,3900\n",
    )
    assert (again["created"], again["updated"], again["unchanged"], again["rejected"]) == (0, 1, 1, 0)
    assert Population.objects.get(division__code="330199001000").total == 20500
    changed = AuditEvent.objects.filter(action="population.import").order_by("-id")[0]
    assert AuditEvent.objects.filter(action="population.import").count() == events + 1
    assert changed.old == {"total": 20000, "age_18_plus": 16000, "age_60_plus": 4000}
    assert changed.new["total"] == 20500


def test_a_gbk_csv_and_an_xlsx_are_read_alike(county, tmp_path):
    gbk = _load(tmp_path, HEADER + "330199001,甲镇,2022,常住,21000,17000,4100\n", encoding="gbk")
    assert gbk["created"] == 1
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["区划代码", "年份", "人口口径", "总人口", "18岁及以上", "60岁及以上"])
    ws.append(["330199002", 2022, "常住", 19000, 15500, 3800])
    path = tmp_path / "pop.xlsx"
    wb.save(path)
    out = io.StringIO()
    call_command("load-population", str(path), "--json", stdout=out)
    assert json.loads(out.getvalue())["created"] == 1
    assert Population.objects.filter(year=2022).count() == 2


def test_a_file_without_the_required_columns_is_refused_naming_them(county, tmp_path):
    path = tmp_path / "pop.csv"
    path.write_text("区划代码,年份,总人口\n330199001,2021,1\n", encoding="utf-8")
    with pytest.raises(CommandError, match="缺少必需的列：人口口径、18岁及以上、60岁及以上"):
        call_command("load-population", str(path), stdout=io.StringIO())
    assert not Population.objects.exists()


def test_only_a_role_that_may_change_the_denominators_loads_them(county, worker_a, cdc):
    data = (HEADER + "330199001,甲镇,2021,户籍,20000,16000,4000\n").encode()
    table = population_table_open(io.BytesIO(data), size=len(data), filename="p.csv")
    with pytest.raises(PermissionDenied):
        population_import(table=table, actor=worker_a)
    assert not Population.objects.exists()
    table = population_table_open(io.BytesIO(data), size=len(data), filename="p.csv")
    assert population_import(table=table, actor=cdc).created == 1
    assert not worker_a.has_perm("reports.change_population") and cdc.has_perm("reports.change_population")


def test_the_database_refuses_age_bands_that_do_not_nest(county):
    from django.db import IntegrityError, transaction

    from vaxops.jurisdictions.models import Division

    with pytest.raises(IntegrityError), transaction.atomic():
        Population.objects.create(
            division=Division.objects.get(code="330199001000"),
            year=2021,
            kind="registered",
            total=10,
            age_18_plus=11,
            age_60_plus=1,
        )
    assert SystemActor().has_perm("reports.change_population")


def test_priority_groups_counts_load_from_the_group_column_and_bad_rows_are_named(county, tmp_path):
    from vaxops.reports.models import GroupPopulation

    result = _load(
        tmp_path,
        "区划代码,年份,人群分类,人口口径,总人口,18岁及以上,60岁及以上\n"
        + "330199,2021,medical,,1200,,\n"  # row 2: a group's count (the kind and ages not needed)
        + "330199001,2021,教育工作者,,300,,\n"  # row 3: the group by its name
        + "330199,2021,astronauts,,5,,\n"  # row 4: no such group
        + "330199,2021,medical,,1300,,\n"  # row 5: the same key as row 2
        + "330199,2021,medical2,,x,,\n"  # row 6: not a count
        + "330199,2021,,户籍,50000,40000,9000\n",  # row 7: no group: the division's population
    )
    assert (result["read"], result["created"], result["rejected"]) == (6, 3, 3)
    by_row = {e["row"]: e for e in result["errors"]}
    assert by_row[4]["column"] == "人群分类" and "astronauts" in by_row[4]["message"]
    assert by_row[5]["column"] == "人群分类" and "与第2行重复" in by_row[5]["message"]
    assert by_row[6]["column"] == "总人口" and "不是非负整数" in by_row[6]["message"]
    assert GroupPopulation.objects.get(division__code="330199000000", group__code="medical").total == 1200
    assert GroupPopulation.objects.get(division__code="330199001000", group__code="education").total == 300
    assert Population.objects.get(division__code="330199000000").total == 50000
    again = _load(
        tmp_path, "区划代码,年份,人群分类,总人口\n330199,2021,medical,1250\n330199001,2021,education,300\n"
    )
    assert (again["updated"], again["unchanged"], again["rejected"]) == (1, 1, 0)
    assert GroupPopulation.objects.get(division__code="330199000000", group__code="medical").total == 1250
    assert AuditEvent.objects.filter(
        action="population.import", object_type="reports.grouppopulation"
    ).exists()


def test_a_file_with_the_group_column_still_needs_division_year_and_count(county, tmp_path):
    with pytest.raises(CommandError, match="总人口"):
        _load(tmp_path, "区划代码,年份,人群分类\n330199,2021,medical\n")

"""The jurisdiction tree and ``vaxops jurisdictions [--level L] [--within CODE] [--json]``."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from vaxops.jurisdictions.models import Division, Level
from vaxops.jurisdictions.selectors import ancestors, division_get, divisions_within, normalise_code
from vaxops.jurisdictions.services import division_create, divisions_load_national


def run(*args) -> str:
    out = io.StringIO()
    call_command("jurisdictions", *args, stdout=out)
    return out.getvalue()


class TestCommand:
    def test_it_lists_villages_as_json(self, county):
        nodes = json.loads(run("--level", "village", "--json"))

        assert [n["code"] for n in nodes] == ["330199001001", "330199001002", "330199002001", "330199002002"]
        for n in nodes:
            assert set(n) == {"code", "name", "level", "parent_code"}
            assert n["level"] == "village"
            assert n["parent_code"] == n["code"][:9] + "000"
        assert nodes[0]["name"] == "甲镇1村"

    def test_it_lists_every_node_without_a_level(self, county):
        nodes = json.loads(run("--json"))

        assert len(nodes) == 9
        province = nodes[0]
        assert province == {
            "code": "330000000000",
            "name": "浙江省",
            "level": "province",
            "parent_code": None,
        }

    def test_it_lists_within_a_node(self, county):
        nodes = json.loads(run("--within", "330199001", "--json"))

        assert [n["code"] for n in nodes] == ["330199001000", "330199001001", "330199001002"]

    def test_it_prints_tab_separated_text(self, county):
        lines = run("--level", "township").strip().split("\n")

        assert lines == [
            "330199001000\t甲镇\ttownship\t330199000000",
            "330199002000\t乙镇\ttownship\t330199000000",
        ]

    def test_it_fails_on_an_unknown_node(self, county):
        with pytest.raises(CommandError, match="330199999"):
            run("--within", "330199999")

    def test_it_refuses_an_unknown_level(self, county):
        with pytest.raises(CommandError):
            run("--level", "galaxy")


class TestTree:
    def test_it_finds_a_node_by_any_code_length(self, county):
        assert division_get(code="330199").name == "清溪县"
        assert division_get(code="330199001").name == "甲镇"
        assert division_get(code="330199001001").name == "甲镇1村"
        assert division_get(code="33019") is None
        assert division_get(code="abc") is None

    def test_it_pads_codes_to_twelve_digits(self):
        assert normalise_code("33") == "330000000000"
        with pytest.raises(ValueError):
            normalise_code("3301991")

    def test_it_knows_the_subtree_as_a_code_range(self, county):
        township = Division.objects.get(code="330199001000")

        assert township.code_range == ("330199001000", "330199001999")
        assert township.contains("330199001002")
        assert not township.contains("330199002001")
        assert {d.code for d in divisions_within(root=township)} == {
            "330199001000",
            "330199001001",
            "330199001002",
        }
        assert divisions_within(root=county, level=Level.VILLAGE).count() == 4

    def test_it_lists_the_ancestors(self, county):
        village = Division.objects.get(code="330199002001")

        assert [d.code for d in ancestors(village)] == [
            "330000000000",
            "330100000000",
            "330199000000",
            "330199002000",
        ]

    def test_it_creates_a_village_under_a_township(self, county):
        township = Division.objects.get(code="330199001000")

        village = division_create(code="330199001003", name="甲镇3村", parent=township)

        assert village.level == Level.VILLAGE
        assert village.parent == township
        assert division_create(code="330199001003", name="again", parent=township) == village

    def test_it_refuses_a_code_outside_the_parent(self, county):
        township = Division.objects.get(code="330199001000")

        with pytest.raises(ValueError):
            division_create(code="330199002009", name="错村", parent=township)
        with pytest.raises(ValueError):
            division_create(code="33019900100", name="短", parent=township)


class TestNationalLists:
    def test_it_loads_a_province_once(self, db):
        added = divisions_load_national(provinces=["33"], townships=False)

        assert added > 90
        assert Division.objects.get(code="330000000000").level == Level.PROVINCE
        hangzhou = Division.objects.get(code="330100000000")
        assert hangzhou.level == Level.CITY
        assert hangzhou.parent.code == "330000000000"
        assert Division.objects.filter(level=Level.COUNTY, parent=hangzhou).exists()
        assert not Division.objects.exclude(code__startswith="33").exists()
        assert divisions_load_national(provinces=["33"], townships=False) == 0


class TestApi:
    def test_it_lists_villages(self, client, cdc):
        client.force_login(cdc)

        r = client.get("/api/v1/jurisdictions", {"level": "village", "within": "330199002"})

        assert r.status_code == 200
        assert [n["code"] for n in r.json()] == ["330199002001", "330199002002"]
        assert r.json()[0]["parent_code"] == "330199002000"

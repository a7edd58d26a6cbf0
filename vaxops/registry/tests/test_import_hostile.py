"""Census files a hostile or clumsy user sends: formula-like text, oversized files and cells, bad bytes."""

import csv
import io
from datetime import date

import pytest

from vaxops.conftest import make_id
from vaxops.registry import domain
from vaxops.registry.models import Resident

from .test_import import ID_1, ID_2, ID_3, csv_bytes, line, run, xlsx_bytes

HYPERLINK = '=HYPERLINK("http://x","点击")'
DDE = "=cmd|' /C calc'!A0"


def _csv_line(*cells: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    return buf.getvalue()


class TestFreeTextRule:
    @pytest.mark.parametrize("text", [HYPERLINK, DDE, "+86 1", "-1", "@me", "\t=1", "\r=1"])
    def test_it_refuses_formula_like_text(self, text):
        assert "不能以 = + - @" in domain.check_free_text(text)

    @pytest.mark.parametrize("text", ["王芳", "甲镇1村8号", "a=b", "", "Zhang-San"])
    def test_it_accepts_real_names_and_addresses(self, text):
        assert domain.check_free_text(text) is None


class TestFormulaLikeValuesAreRefused:
    @pytest.mark.parametrize(
        ("kwargs", "column"),
        [
            ({"name": HYPERLINK}, "姓名"),
            ({"name": DDE}, "姓名"),
            ({"address": "=1+1"}, "现住址"),
            ({"address": "@SUM(A1)"}, "现住址"),
            ({"employer": "+cmd"}, "工作单位"),
        ],
    )
    def test_it_rejects_the_row_naming_row_and_column_and_imports_the_rest(self, cdc, kwargs, column):
        values = {"name": "赵六", "address": "甲镇1村8号", "employer": ""} | kwargs
        bad = _csv_line(
            values["name"], "居民身份证", ID_2, "", "", "13812345678", values["address"], "330199001001",
            values["employer"], "", "愿意",
        )  # fmt: skip
        result = run(csv_bytes(line(), bad, line("孙七", ID_3)), cdc)

        assert (result.read, result.created, result.rejected) == (3, 2, 1)
        assert result.read == result.created + result.updated + result.unchanged + result.rejected
        [err] = [e.as_dict() for e in result.errors]
        assert (err["row"], err["column"]) == (3, column)
        assert "不能以 = + - @" in err["message"]
        assert set(Resident.objects.values_list("id_number", flat=True)) == {ID_1, ID_3}

    def test_it_rejects_them_in_an_xlsx_too(self, cdc):
        data = xlsx_bytes([["姓名", "证件号码", "村(社区)代码"], [DDE, ID_1, "330199001001"]])
        result = run(data, cdc)
        assert (result.read, result.rejected) == (1, 1)
        assert result.errors[0].column == "姓名"

    def test_a_single_record_is_refused_with_the_field_named(self, cdc):
        from vaxops.core.errors import ValidationFailed
        from vaxops.registry.services import resident_create

        with pytest.raises(ValidationFailed) as e:
            resident_create(
                actor=cdc,
                data={
                    "name": HYPERLINK,
                    "id_number": make_id(date(1990, 1, 1), 9),
                    "village_code": "330199001001",
                },
            )
        assert e.value.field == "name" and "不能以" in e.value.message

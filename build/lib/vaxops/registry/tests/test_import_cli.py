"""``vaxops import-residents PATH [--village CODE] [--employer CODE] [--json]``."""

import io
import json
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from vaxops.audit.models import AuditEvent
from vaxops.conftest import make_id
from vaxops.registry.models import Resident

A1 = "330199001001"
B1 = "330199002001"
HEADER = "姓名,证件号码,性别,手机号码,村(社区)代码,接种意愿"
ID_1 = make_id(date(1980, 5, 1), 1)
ID_2 = make_id(date(1975, 3, 9), 2, sex="M")


def write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def write_xlsx(tmp_path, name: str, text: str):
    """The same table as ``text`` (CSV lines), saved as an XLSX workbook."""
    wb = Workbook()
    for row in text.strip().split("\n"):
        wb.active.append(row.split(","))
    p = tmp_path / name
    wb.save(p)
    return p


def run_json(path, *args) -> dict:
    out = io.StringIO()
    call_command("import-residents", str(path), "--json", *args, stdout=out)
    return json.loads(out.getvalue())


class TestJsonOutput:
    def test_it_prints_exactly_the_documented_keys(self, county, tmp_path):
        p = write_xlsx(
            tmp_path,
            "census.xlsx",
            f"{HEADER}\n王芳,{ID_1},女,13812345678,{A1},愿意\n李强,{ID_2},男,1381234,{A1},愿意\n",
        )

        out = run_json(p)

        assert set(out) == {"read", "created", "updated", "unchanged", "rejected", "errors", "errors_total"}
        assert (out["read"], out["created"], out["updated"], out["unchanged"], out["rejected"]) == (
            2,
            1,
            0,
            0,
            1,
        )
        assert out["read"] == out["created"] + out["updated"] + out["unchanged"] + out["rejected"]
        assert len(out["errors"]) == 1
        err = out["errors"][0]
        assert set(err) == {"row", "column", "message", "name", "masked_id"}
        assert err["row"] == 3
        assert err["column"] == "手机号码"
        assert "手机号码格式错误" in err["message"]

    def test_it_prints_one_json_object_and_nothing_else(self, county, tmp_path):
        p = write_xlsx(tmp_path, "census.xlsx", f"{HEADER}\n王芳,{ID_1},女,13812345678,{A1},愿意\n")
        out = io.StringIO()

        call_command("import-residents", str(p), "--json", stdout=out)

        text = out.getvalue().strip()
        assert text.startswith("{") and text.endswith("}")
        assert json.loads(text)["created"] == 1

    def test_it_reports_unchanged_on_a_second_run(self, county, tmp_path):
        p = write_xlsx(
            tmp_path,
            "census.xlsx",
            f"{HEADER}\n王芳,{ID_1},女,13812345678,{A1},愿意\n李强,{ID_2},男,13900001111,{A1},犹豫\n",
        )
        run_json(p)

        out = run_json(p)

        assert (out["created"], out["updated"], out["unchanged"], out["rejected"]) == (0, 0, 2, 0)
        assert not AuditEvent.objects.filter(action="resident.import_update").exists()

    def test_it_reads_utf8_csv(self, county, tmp_path):
        p = write(
            tmp_path,
            "utf8.csv",
            f"{HEADER}\n王芳,{ID_1},女,13812345678,{A1},愿意\n李强,{ID_2},男,1381234,{A1},愿意\n",
        )

        out = run_json(p)

        assert (out["read"], out["created"], out["rejected"]) == (2, 1, 1)
        assert Resident.objects.get().name == "王芳"

    def test_it_reads_gbk_csv(self, county, tmp_path):
        p = write(
            tmp_path, "gbk.csv", f"{HEADER}\n欧阳娜娜,{ID_1},女,13812345678,{A1},愿意\n", encoding="gbk"
        )

        out = run_json(p)

        assert out["created"] == 1
        assert Resident.objects.get().name == "欧阳娜娜"

    def test_it_reads_xlsx(self, county, tmp_path):
        p = write_xlsx(tmp_path, "census.xlsx", f"{HEADER}\n王芳,{ID_1},女,13812345678,{A1},愿意\n")

        out = run_json(p)

        assert out["created"] == 1, out
        assert Resident.objects.get().id_number == ID_1


class TestOptions:
    def test_it_fills_the_village(self, county, tmp_path):
        p = write_xlsx(tmp_path, "v.xlsx", f"姓名,证件号码\n王芳,{ID_1}\n李强,{ID_2}\n")

        out = run_json(p, "--village", B1)

        assert out["created"] == 2
        assert set(Resident.objects.values_list("village_code", flat=True)) == {B1}

    def test_it_links_the_employer(self, employer, tmp_path):
        p = write_xlsx(tmp_path, "e.xlsx", f"{HEADER}\n王芳,{ID_1},女,13812345678,{A1},愿意\n")

        out = run_json(p, "--employer", "E1")

        assert out["created"] == 1
        r = Resident.objects.get()
        assert r.employer == employer
        assert r.employer_name == "清溪冷链物流公司"

    def test_it_fails_on_an_unknown_employer(self, county, tmp_path):
        p = write(tmp_path, "e.csv", f"{HEADER}\n王芳,{ID_1},女,13812345678,{A1},愿意\n")

        with pytest.raises(CommandError, match="NOPE"):
            run_json(p, "--employer", "NOPE")
        assert not Resident.objects.exists()

    def test_it_prints_a_summary_without_json(self, county, tmp_path):
        p = write_xlsx(
            tmp_path,
            "census.xlsx",
            f"{HEADER}\n王芳,{ID_1},女,13812345678,{A1},愿意\n李强,{ID_2},男,1381234,{A1},愿意\n",
        )
        out = io.StringIO()

        call_command("import-residents", str(p), stdout=out)

        text = out.getvalue()
        assert "读取 2 行" in text
        assert "新建 1" in text
        assert "拒绝 1" in text
        assert "第3行 [手机号码]" in text

    def test_it_audits_as_the_cli_actor(self, county, tmp_path):
        p = write_xlsx(tmp_path, "census.xlsx", f"{HEADER}\n王芳,{ID_1},女,13812345678,{A1},愿意\n")

        run_json(p)

        event = AuditEvent.objects.get(action="resident.import_create")
        assert event.actor is None
        assert event.actor_label.startswith("cli:")

    def test_it_applies_the_scope_of_the_given_user(self, worker_a, tmp_path):
        p = write_xlsx(
            tmp_path,
            "census.xlsx",
            f"{HEADER}\n王芳,{ID_1},女,13812345678,{A1},愿意\n李强,{ID_2},男,13900001111,{B1},愿意\n",
        )

        out = run_json(p, "--user", "worker_a")

        assert (out["created"], out["rejected"]) == (1, 1)
        assert out["errors"][0]["row"] == 3
        assert "管辖范围" in out["errors"][0]["message"]


class TestUnreadableFiles:
    def test_it_fails_when_the_file_does_not_exist(self, county, tmp_path):
        with pytest.raises(CommandError, match="文件不存在"):
            run_json(tmp_path / "missing.csv")

    def test_it_fails_naming_the_missing_columns(self, county, tmp_path):
        p = write(tmp_path, "bad.csv", "手机号码,备注\n13812345678,x\n")

        with pytest.raises(CommandError) as exc:
            run_json(p)

        for label in ("姓名", "证件号码", "村(社区)代码"):
            assert label in str(exc.value)

    def test_it_fails_on_an_old_excel_file(self, county, tmp_path):
        p = tmp_path / "old.xls"
        p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024)

        with pytest.raises(CommandError, match=r"\.xls"):
            run_json(p)

    def test_it_fails_on_garbage(self, county, tmp_path):
        p = tmp_path / "garbage.csv"
        p.write_bytes(bytes(range(256)) * 8)

        with pytest.raises(CommandError):
            run_json(p)

    def test_it_fails_on_a_file_named_xlsx_that_is_not_one(self, county, tmp_path):
        p = write(tmp_path, "fake.xlsx", f"{HEADER}\n王芳,{ID_1},女,13812345678,{A1},愿意\n")

        with pytest.raises(CommandError, match="XLSX"):
            run_json(p)
        assert not Resident.objects.exists()

    def test_it_fails_on_an_empty_file(self, county, tmp_path):
        p = tmp_path / "empty.csv"
        p.write_bytes(b"")

        with pytest.raises(CommandError, match="文件为空"):
            run_json(p)

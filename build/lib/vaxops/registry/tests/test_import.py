"""Census import through the service: open_table(...) + residents_import(...)."""

import io
from datetime import date

import pytest
from openpyxl import Workbook

from vaxops.audit.models import AuditEvent
from vaxops.conftest import make_id
from vaxops.core.errors import CoreErrorCode
from vaxops.registry.errors import RegistryErrorCode
from vaxops.registry.models import Resident
from vaxops.registry.services import residents_import
from vaxops.registry.tables import open_table
from vaxops.testing.refusals import refused

A1 = "330199001001"
A2 = "330199001002"
HEADER = "姓名,证件类型,证件号码,性别,出生日期,手机号码,现住址,村(社区)代码,工作单位,人群分类,接种意愿"
ID_1 = make_id(date(1980, 5, 1), 1)  # 330199198005010026-style, female
ID_2 = make_id(date(1975, 3, 9), 2, sex="M")
ID_3 = make_id(date(1990, 12, 31), 3)


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def line(
    name="王芳",
    id_number=ID_1,
    *,
    id_type="居民身份证",
    sex="",
    birth="",
    phone="13812345678",
    address="甲镇1村8号",
    village=A1,
    employer="",
    group="",
    will="愿意",
) -> str:
    return ",".join([name, id_type, id_number, sex, birth, phone, address, village, employer, group, will])


def csv_bytes(*lines: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode(encoding)


def run(data: bytes, actor, **kwargs):
    return residents_import(table=open_table(io.BytesIO(data), size=len(data)), actor=actor, **kwargs)


def xlsx_bytes(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


class TestFormats:
    def test_it_imports_utf8_csv(self, cdc):
        result = run(csv_bytes(line(), line("李强", ID_2, phone="13900001111", will="犹豫")), cdc)

        assert (result.read, result.created, result.rejected) == (2, 2, 0)
        r = Resident.objects.get(id_number=ID_1)
        assert r.name == "王芳"
        assert r.id_type == "resident_id"
        assert r.sex == "F"
        assert r.birth_date == date(1980, 5, 1)
        assert r.phone == "13812345678"
        assert r.village.code == A1
        assert r.village_code == A1
        assert r.willingness == "willing"
        assert Resident.objects.get(id_number=ID_2).willingness == "hesitant"

    def test_it_imports_utf8_with_bom(self, cdc):
        data = b"\xef\xbb\xbf" + csv_bytes(line())

        result = run(data, cdc)

        assert result.created == 1
        assert result.errors == []
        assert Resident.objects.get(id_number=ID_1).name == "王芳"

    def test_it_imports_gbk_csv(self, cdc):
        data = csv_bytes(line("欧阳娜娜", address="乙镇某某村十组"), encoding="gbk")

        result = run(data, cdc)

        assert result.created == 1
        r = Resident.objects.get(id_number=ID_1)
        assert r.name == "欧阳娜娜"
        assert r.address == "乙镇某某村十组"

    def test_it_imports_xlsx(self, cdc):
        data = xlsx_bytes(
            [
                HEADER.split(","),
                [
                    "王芳",
                    "居民身份证",
                    ID_1,
                    "女",
                    date(1980, 5, 1),
                    "13812345678",
                    "甲镇1村8号",
                    A1,
                    "",
                    "",
                    "愿意",
                ],
                ["李强", "", ID_2, "男", "1975-03-09", "13900001111", "", A2, "", "", "拒绝"],
            ]
        )

        result = run(data, cdc)

        assert (result.read, result.created, result.rejected) == (2, 2, 0), result.errors
        assert Resident.objects.get(id_number=ID_1).birth_date == date(1980, 5, 1)
        li = Resident.objects.get(id_number=ID_2)
        assert li.village_code == A2
        assert li.willingness == "refused"

    def test_it_accepts_english_headers(self, cdc):
        header = "name,id_type,id_number,sex,birth_date,phone,address,village_code,employer,priority_group,willingness"
        data = csv_bytes(
            f"Wang Fang,,{ID_1},F,1980-05-01,13812345678,Room 8,{A1},,medical,willing", header=header
        )

        result = run(data, cdc)

        assert result.created == 1, result.errors
        r = Resident.objects.get(id_number=ID_1)
        assert r.name == "Wang Fang"
        assert r.priority_group.code == "medical"
        assert r.willingness == "willing"

    def test_it_defaults_id_type_to_resident_id(self, cdc):
        header = "姓名,证件号码,村(社区)代码"
        result = run(csv_bytes(f"王芳,{ID_1},{A1}", header=header), cdc)

        assert result.created == 1
        assert Resident.objects.get(id_number=ID_1).id_type == "resident_id"

    def test_it_converts_15_digit_ids(self, cdc):
        legacy = "330199800501002"  # 1980-05-01, sequence 002 (female)

        result = run(csv_bytes(line(id_number=legacy)), cdc)

        assert result.created == 1
        r = Resident.objects.get()
        assert r.id_number == ID_1
        assert len(r.id_number) == 18
        assert r.birth_date == date(1980, 5, 1)
        assert r.sex == "F"


class TestRejections:
    @pytest.mark.parametrize(
        ("bad", "column", "fragment"),
        [
            (line("赵六", ID_2[:-1] + ("0" if ID_2[-1] != "0" else "1")), "证件号码", "校验位"),
            (line("赵六", ID_2, phone="1381234567"), "手机号码", "手机号码格式错误"),
            (line("赵六", ID_2, village="330199009009"), "村(社区)代码", "不存在"),
            (line("赵六", ID_2, sex="女"), "性别", "不一致"),
            (line("赵六", ID_2, birth="1975-03-10"), "出生日期", "不一致"),
            (line("赵六", ID_2, group="宇航员"), "人群分类", "不存在"),
            (line("赵六", ID_2, will="也许"), "接种意愿", "接种意愿"),
            (line("", ID_2), "姓名", "不能为空"),
            (line("赵六", ID_2, id_type="驾驶证"), "证件类型", "无法识别"),
        ],
    )
    def test_it_rejects_a_bad_row_naming_row_and_column(self, cdc, bad, column, fragment):
        result = run(csv_bytes(line(), bad, line("孙七", ID_3)), cdc)

        assert (result.read, result.created, result.rejected) == (3, 2, 1)
        assert len(result.errors) == 1
        err = result.errors[0].as_dict()
        assert err["row"] == 3
        assert err["column"] == column
        assert fragment in err["message"]
        assert not Resident.objects.filter(id_number=ID_2).exists()
        assert set(Resident.objects.values_list("id_number", flat=True)) == {ID_1, ID_3}

    def test_it_reports_every_bad_column_of_a_row(self, cdc):
        result = run(csv_bytes(line("赵六", ID_2, phone="12", village="330199009009", will="也许")), cdc)

        assert result.rejected == 1
        assert {e.column for e in result.errors} == {"手机号码", "村(社区)代码", "接种意愿"}
        assert {e.row for e in result.errors} == {2}

    def test_it_counts_add_up(self, cdc):
        run(csv_bytes(line(), line("李强", ID_2)), cdc)
        data = csv_bytes(
            line(),  # unchanged
            line("李强", ID_2, phone="13900002222"),  # updated
            line("孙七", ID_3),  # created
            line("坏人", "123"),  # rejected
            line("坏人二", ID_3[:-1] + "Y"),  # rejected
        )

        result = run(data, cdc)

        assert result.as_dict()["read"] == 5
        assert (result.created, result.updated, result.unchanged, result.rejected) == (1, 1, 1, 2)
        assert result.read == result.created + result.updated + result.unchanged + result.rejected
        assert [e.row for e in result.errors] == [5, 6]


class TestReimport:
    def test_it_changes_nothing_when_the_same_file_is_imported_again(self, cdc):
        data = csv_bytes(
            line(), line("李强", ID_2, group="medical", employer="某医院"), line("孙七", ID_3, will="")
        )
        run(data, cdc)
        before = {r.pk: (r.updated_at, r.phone, r.priority_group_id) for r in Resident.objects.all()}
        events_before = AuditEvent.objects.count()

        result = run(data, cdc)

        assert (result.read, result.created, result.updated, result.unchanged) == (3, 0, 0, 3)
        assert not AuditEvent.objects.filter(action="resident.import_update").exists()
        assert AuditEvent.objects.count() == events_before
        assert {r.pk: (r.updated_at, r.phone, r.priority_group_id) for r in Resident.objects.all()} == before

    def test_it_updates_a_changed_row_and_audits_old_and_new(self, cdc):
        run(csv_bytes(line(), line("李强", ID_2)), cdc)
        wang = Resident.objects.get(id_number=ID_1)

        result = run(csv_bytes(line(phone="13987654321", will="拒绝"), line("李强", ID_2)), cdc)

        assert (result.updated, result.unchanged) == (1, 1)
        wang.refresh_from_db()
        assert wang.phone == "13987654321"
        assert wang.willingness == "refused"
        events = AuditEvent.objects.filter(action="resident.import_update")
        assert events.count() == 1
        event = events.get()
        assert event.object_type == "registry.resident"
        assert event.object_id == str(wang.pk)
        assert event.actor == cdc
        assert event.old == {"phone": "138****5678", "willingness": "willing"}
        assert event.new == {"phone": "139****4321", "willingness": "refused"}
        assert "13987654321" not in str(event.new)
        assert "13812345678" not in str(event.old)

    def test_it_never_wipes_values_with_blank_optional_cells(self, cdc):
        run(
            csv_bytes(
                line(
                    phone="13812345678",
                    address="甲镇1村8号",
                    group="medical",
                    will="犹豫",
                    employer="清溪人民医院",
                )
            ),
            cdc,
        )

        result = run(csv_bytes(line(phone="", address="", group="", will="", employer="")), cdc)

        assert (result.updated, result.unchanged) == (0, 1)
        r = Resident.objects.get(id_number=ID_1)
        assert r.phone == "13812345678"
        assert r.address == "甲镇1村8号"
        assert r.priority_group.code == "medical"
        assert r.willingness == "hesitant"
        assert r.employer_name == "清溪人民医院"

    def test_the_same_person_twice_in_one_file_is_a_duplicate_error_naming_both_rows(self, cdc):
        data = csv_bytes(line(phone="13811112222"), line("孙七", ID_3), line(phone="13833334444"))

        result = run(data, cdc)

        assert result.read == 3
        assert (result.created, result.updated, result.rejected) == (2, 0, 1)
        assert result.read == result.created + result.updated + result.unchanged + result.rejected
        assert Resident.objects.filter(id_number=ID_1).count() == 1
        assert Resident.objects.get(id_number=ID_1).phone == "13811112222"  # the first row stands
        (e,) = result.errors
        assert e.row == 4 and e.column == "证件号码" and "第2行" in e.message and "第4行" in e.message
        assert "重复" in e.message and e.name == "王芳"

    def test_it_ignores_blank_lines(self, cdc):
        data = (HEADER + "\n" + line() + "\n\n,,,,,,,,,,\n" + line("李强", ID_2, phone="1") + "\n\n").encode()

        result = run(data, cdc)

        assert (result.read, result.created, result.rejected) == (2, 1, 1)
        assert result.errors[0].row == 5  # numbered as the lines of the file


class TestWholeFile:
    def test_it_names_the_missing_required_columns(self, cdc):
        data = csv_bytes("13812345678", header="手机号码")

        with refused(RegistryErrorCode.FILE_COLUMNS_MISSING) as exc:
            run(data, cdc)

        msg = exc.value.message
        assert "缺少必需的列" in msg
        for label in ("姓名", "证件号码", "村(社区)代码"):
            assert label in msg
        assert not Resident.objects.exists()

    def test_it_names_only_the_columns_that_are_missing(self, cdc):
        with refused(RegistryErrorCode.FILE_COLUMNS_MISSING) as exc:
            run(csv_bytes(f"王芳,{ID_1}", header="姓名,证件号码"), cdc)

        assert "村(社区)代码" in exc.value.message
        assert "姓名" not in exc.value.message.split("：", 1)[1].split("（")[0]

    def test_it_refuses_old_excel_files(self, cdc):
        data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
        with refused(RegistryErrorCode.FILE_XLS_UNSUPPORTED):
            run(data, cdc)

    def test_it_refuses_binary_garbage(self, cdc):
        with refused(RegistryErrorCode.FILE_UNREADABLE):
            run(b"\x00\x01\x02garbage\x00\xff" * 50, cdc)

    def test_it_refuses_a_broken_xlsx(self, cdc):
        with refused(CoreErrorCode.XLSX_UNREADABLE):
            run(b"PK\x03\x04 this is not a zip file", cdc)

    def test_it_refuses_an_empty_file(self, cdc):
        with refused(RegistryErrorCode.FILE_NO_HEADER):
            run(b"", cdc)


class TestOverrides:
    def test_it_fills_the_village_from_the_argument(self, cdc):
        data = csv_bytes(f"王芳,{ID_1}", f"李强,{ID_2}", header="姓名,证件号码")

        result = run(data, cdc, village_code=A2)

        assert result.created == 2
        assert set(Resident.objects.values_list("village_code", flat=True)) == {A2}
        assert Resident.objects.get(id_number=ID_1).village.code == A2

    def test_it_refuses_an_unknown_village_argument(self, cdc):
        with refused(RegistryErrorCode.VILLAGE_UNKNOWN):
            run(csv_bytes(f"王芳,{ID_1}", header="姓名,证件号码"), cdc, village_code="330199009009")

    def test_it_links_the_employer_from_the_argument(self, cdc, employer):
        result = run(csv_bytes(line(), line("李强", ID_2, employer="别的单位")), cdc, employer_code="E1")

        assert result.created == 2
        for r in Resident.objects.all():
            assert r.employer_id == employer.id
            assert r.employer_name == employer.name
            # the employer's priority group is derived when the row names none
            assert r.priority_group.code == "cold_chain"

    def test_it_links_the_employer_named_in_the_row(self, cdc, employer):
        run(csv_bytes(line(employer="E1")), cdc)

        assert Resident.objects.get().employer == employer


class TestPriorityGroup:
    def test_it_derives_the_group_from_age_when_the_row_names_none(self, cdc):
        old = make_id(date(1940, 1, 1), 5)
        run(csv_bytes(line(id_number=old), line("李强", ID_2)), cdc)

        assert Resident.objects.get(id_number=old).priority_group.code == "elderly_60"
        assert Resident.objects.get(id_number=ID_2).priority_group.code == "general"

    def test_it_keeps_the_group_the_row_names(self, cdc):
        run(csv_bytes(line(group="医疗卫生人员")), cdc)

        assert Resident.objects.get().priority_group.code == "medical"


class TestImportAudit:
    def test_it_records_one_create_event_per_batch(self, cdc):
        run(csv_bytes(line(), line("李强", ID_2)), cdc, filename="census.csv")

        event = AuditEvent.objects.get(action="resident.import_create")
        assert event.actor == cdc
        assert event.new["count"] == 2
        assert event.new["file"] == "census.csv"
        assert sorted(event.new["ids"]) == sorted(Resident.objects.values_list("pk", flat=True))

    def test_it_requires_the_import_permission(self, leader):

        with refused(CoreErrorCode.ROLE_FORBIDDEN):
            run(csv_bytes(line()), leader)
        assert not Resident.objects.exists()


class TestProgress:
    def test_it_reports_progress_after_the_last_csv_batch(self, cdc):
        data = csv_bytes(line(), line("李强", ID_2))
        table = open_table(io.BytesIO(data), size=len(data))
        seen: list[tuple[int, int]] = []

        result = residents_import(
            table=table, actor=cdc, on_batch=lambda r: seen.append((r.read, table.done()))
        )

        assert result.created == 2
        assert seen[-1] == (2, len(data))

    def test_it_reports_progress_after_the_last_xlsx_batch(self, cdc):
        data = xlsx_bytes([HEADER.split(","), line().split(","), line("李强", ID_2).split(",")])
        table = open_table(io.BytesIO(data), size=len(data))
        seen: list[int] = []

        result = residents_import(table=table, actor=cdc, on_batch=lambda r: seen.append(r.read))

        assert result.created == 2
        assert seen[-1] == 2

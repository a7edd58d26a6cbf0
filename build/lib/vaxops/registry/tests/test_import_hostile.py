"""Census files a hostile or clumsy user sends: formula-like text, oversized files and cells, bad bytes."""

import csv
import io
import json
import re
import struct
import zipfile
import zlib
from datetime import date

import pytest

from vaxops.conftest import make_id
from vaxops.registry import domain
from vaxops.registry.models import Resident
from vaxops.registry.tables import open_table

from .test_import import HEADER, ID_1, ID_2, ID_3, csv_bytes, line, run, xlsx_bytes

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


# ------------------------------------------------------------------------------------------------ limits

A1 = "330199001001"


def _zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip archive from raw deflate streams: (name, compressed, crc32, inflated size)."""
    out = io.BytesIO()
    central = []
    for name, comp, crc, size in members:
        offset, n = out.tell(), name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(comp), size, len(n), 0))
        out.write(n + comp)
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(comp), size, len(n), 0, 0, 0, 0,
                0, offset,
            )
            + n
        )  # fmt: skip
    start = out.tell()
    directory = b"".join(central)
    out.write(directory)
    out.write(
        struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory), start, 0)
    )
    return out.getvalue()


def zip_bomb(inflated_mb: int) -> bytes:
    """A real census workbook whose sheet holds ``inflated_mb`` MB of blank space, compressed about 1,000 times.

    Built from independent deflate blocks (a full flush resets the compressor), so making it costs nothing;
    its CRC is left wrong, which nothing notices before inflating the whole sheet.
    """
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["姓名", "证件号码", "村(社区)代码"]])))
    members = []
    for info in source.infolist():
        data = source.read(info)
        if info.filename != "xl/worksheets/sheet1.xml":
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            members.append((info.filename, c.compress(data) + c.flush(), zlib.crc32(data), len(data)))
            continue
        head, tail = data.split(b"</sheetData>")
        # Whitespace between rows is valid XML that a reader must go through, and compresses 1,000 times.
        chunk = b" " * (1 << 20)
        row = '<row r="2"><c r="A2" t="inlineStr"><is><t>王芳</t></is></c></row></sheetData>'.encode() + tail
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
        block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
        last = c.compress(row) + c.flush()
        size = len(head) + len(chunk) * inflated_mb + len(row)
        members.append((info.filename, first + block * inflated_mb + last, 0, size))
    return _zip(members)


class TestUploadSize:
    def test_the_web_page_refuses_a_file_over_the_limit_with_the_sizes(
        self, client, cdc, settings, django_capture_on_commit_callbacks
    ):
        from django.core.files.uploadedfile import SimpleUploadedFile

        from vaxops.registry.models import ImportJob

        settings.VAXOPS_IMPORT_MAX_UPLOAD_MB = 1
        client.force_login(cdc)
        data = csv_bytes(line()) + b"#" * (1024 * 1024)
        with django_capture_on_commit_callbacks(execute=True):
            r = client.post("/residents/import/", {"file": SimpleUploadedFile("big.csv", data)})
        assert "文件过大" in r.content.decode() and "不能超过 1.0 MB" in r.content.decode()
        assert not ImportJob.objects.exists()

    def test_the_api_refuses_it_with_a_400(self, client, cdc, settings):
        from django.core.files.uploadedfile import SimpleUploadedFile

        settings.VAXOPS_IMPORT_MAX_UPLOAD_MB = 1
        client.force_login(cdc)
        data = csv_bytes(line()) + b"#" * (1024 * 1024)
        r = client.post("/api/v1/residents/import", {"file": SimpleUploadedFile("big.csv", data)})
        assert r.status_code == 400 and r.json()["code"] == "too_large"
        assert not Resident.objects.exists()


class TestUploadTooLargeToRead:
    """A request declaring a body far beyond the limit is refused before Django reads (and stores) it."""

    def _post(self, client, path: str, settings):
        from django.core.files.uploadedfile import SimpleUploadedFile

        settings.VAXOPS_IMPORT_MAX_UPLOAD_MB = 1
        data = csv_bytes(line()) + b"#" * (3 * 1024 * 1024)
        return client.post(path, {"file": SimpleUploadedFile("big.csv", data)})

    def test_the_web_page_answers_413_with_the_reason(self, client, cdc, settings):
        from vaxops.registry.models import ImportJob

        client.force_login(cdc)
        r = self._post(client, "/residents/import/", settings)
        assert r.status_code == 413 and "文件过大" in r.content.decode()
        assert not ImportJob.objects.exists()

    def test_the_api_answers_413_with_the_reason(self, client, cdc, settings):
        client.force_login(cdc)
        r = self._post(client, "/api/v1/residents/import", settings)
        assert r.status_code == 413 and r.json()["code"] == "too_large"


class TestZipBomb:
    def test_a_bomb_of_under_a_megabyte_inflating_to_a_gigabyte_is_refused_at_once(self, cdc):
        import time
        import tracemalloc

        from vaxops.core.errors import ValidationFailed

        data = zip_bomb(1024)
        assert len(data) < 1.1 * 1024 * 1024
        tracemalloc.start()
        t0 = time.perf_counter()
        with pytest.raises(ValidationFailed) as e:
            run(data, cdc)
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert "解压后超过" in e.value.message
        assert elapsed < 1.0 and peak < 20 * 1024 * 1024
        assert not Resident.objects.exists()

    def test_a_large_member_compressed_too_well_is_refused(self, cdc, settings):
        from vaxops.core.errors import ValidationFailed

        settings.VAXOPS_IMPORT_MAX_XLSX_INFLATED_MB = 10_000
        with pytest.raises(ValidationFailed) as e:
            run(zip_bomb(64), cdc)
        assert "压缩比异常" in e.value.message

    def test_a_sheet_that_turns_out_broken_is_a_file_error_not_a_crash(self, cdc):
        from vaxops.core.errors import ValidationFailed

        # Under the limits, but its checksum is wrong: found only once the sheet has been read.
        with pytest.raises(ValidationFailed) as e:
            run(zip_bomb(2), cdc)
        assert "已损坏，无法继续读取" in e.value.message and "未导入任何数据" in e.value.message

    def test_an_ordinary_workbook_passes(self, cdc):
        result = run(xlsx_bytes([["姓名", "证件号码", "村(社区)代码"], ["王芳", ID_1, A1]]), cdc)
        assert result.created == 1


class TestRowLimit:
    def test_a_csv_over_the_limit_is_refused_before_anything_is_written(self, cdc, settings):
        from vaxops.core.errors import ValidationFailed

        settings.VAXOPS_IMPORT_MAX_ROWS = 2
        with pytest.raises(ValidationFailed) as e:
            run(csv_bytes(line(), line("李强", ID_2), line("孙七", ID_3)), cdc)
        assert "超过 2 行" in e.value.message
        assert not Resident.objects.exists()

    def test_a_csv_at_the_limit_is_imported(self, cdc, settings):
        settings.VAXOPS_IMPORT_MAX_ROWS = 2
        assert run(csv_bytes(line(), line("李强", ID_2)), cdc).created == 2

    def test_an_xlsx_over_its_declared_size_is_refused_before_reading(self, cdc, settings):
        from vaxops.core.errors import ValidationFailed

        settings.VAXOPS_IMPORT_MAX_ROWS = 1
        data = xlsx_bytes([["姓名", "证件号码", "村(社区)代码"], ["王芳", ID_1, A1], ["李强", ID_2, A1]])
        with pytest.raises(ValidationFailed) as e:
            run(data, cdc)
        assert "超过 1 行" in e.value.message and not Resident.objects.exists()


def _without_dimension(data: bytes) -> bytes:
    """The workbook with its sheet's declared size removed (it is optional in the format)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = re.sub(rb"<dimension [^>]*/>", b"", body)
            z.writestr(info.filename, body)
    return out.getvalue()


def _people(n: int) -> list[list]:
    return [
        [f"人{i}", make_id(date(1960 + i % 40, 1 + i % 12, 1 + i % 28), seq=1 + i // 480), A1]
        for i in range(n)
    ]


class TestPartialImportsSaySo:
    def test_a_file_that_breaks_part_way_says_what_was_saved_and_a_rerun_finishes(self, cdc, settings):
        from vaxops.core.errors import ValidationFailed
        from vaxops.registry import services

        settings.VAXOPS_IMPORT_BATCH = 2
        settings.VAXOPS_IMPORT_MAX_ROWS = 5
        people = _people(7)
        data = _without_dimension(xlsx_bytes([["姓名", "证件号码", "村(社区)代码"], *people]))

        with pytest.raises(ValidationFailed) as e:
            services.residents_import(table=open_table(io.BytesIO(data)), actor=cdc, filename="c.xlsx")

        message = e.value.message
        assert "超过 5 行" in message
        assert "此前的 5 行已处理并保存：新建 5，更新 0，未变 0，拒绝 0" in message
        assert "重新导入整个文件" in message
        assert Resident.objects.count() == 5
        assert e.value.partial_result.processed == 5

        settings.VAXOPS_IMPORT_MAX_ROWS = 100
        again = run(data, cdc)
        assert (again.read, again.created, again.unchanged) == (7, 2, 5)
        assert Resident.objects.count() == 7

    def test_the_job_page_keeps_the_counts_and_the_message(
        self, cdc, settings, django_capture_on_commit_callbacks
    ):
        from django.core.files.uploadedfile import SimpleUploadedFile

        from vaxops.registry.models import ImportJob
        from vaxops.registry.services import import_job_create

        settings.VAXOPS_IMPORT_BATCH = 2
        settings.VAXOPS_IMPORT_MAX_ROWS = 3
        data = _without_dimension(xlsx_bytes([["姓名", "证件号码", "村(社区)代码"], *_people(5)]))
        with django_capture_on_commit_callbacks(execute=True):
            job = import_job_create(actor=cdc, upload=SimpleUploadedFile("c.xlsx", data))
        job.refresh_from_db()
        assert job.status == ImportJob.Status.FAILED
        assert (job.read, job.created) == (3, 3) and "此前的 3 行已处理并保存" in job.message
        assert not job.file  # the upload is deleted when the job ends, failed or not

    def test_a_failed_job_offers_the_error_report_of_what_it_did(
        self, client, cdc, settings, django_capture_on_commit_callbacks
    ):
        from django.core.files.uploadedfile import SimpleUploadedFile

        from vaxops.registry.services import import_job_create

        settings.VAXOPS_IMPORT_BATCH = 2
        settings.VAXOPS_IMPORT_MAX_ROWS = 3
        people = _people(5)
        people[0][0] = "@me"
        data = _without_dimension(xlsx_bytes([["姓名", "证件号码", "村(社区)代码"], *people]))
        with django_capture_on_commit_callbacks(execute=True):
            job = import_job_create(actor=cdc, upload=SimpleUploadedFile("c.xlsx", data))
        client.force_login(cdc)
        body = client.get(f"/residents/import/{job.pk}/").content.decode()
        assert "此前的 3 行已处理并保存：新建 2，更新 0，未变 0，拒绝 1" in body
        assert f"/residents/import/{job.pk}/errors.xlsx" in body and "不能以 = + - @" in body

    def test_bad_bytes_at_line_3002_of_6001_name_that_line_and_write_nothing(self, cdc, settings):
        from vaxops.core.errors import ValidationFailed

        settings.VAXOPS_IMPORT_BATCH = 500
        rows = [
            line(f"人{i}", make_id(date(1950 + i % 50, 1 + i % 12, 1 + i % 28), seq=1 + i // 500))
            for i in range(6000)
        ]
        rows[3000] = line("\udcff", ID_1)  # line 3,002 of the file (after the header)
        data = ("\n".join([HEADER, *rows]) + "\n").encode("utf-8", "surrogateescape")

        with pytest.raises(ValidationFailed) as e:
            run(data, cdc)

        assert e.value.message.startswith("第3002行含有无法识别的字符")
        assert "整个文件未导入" in e.value.message
        assert not Resident.objects.exists()

    def test_a_gbk_file_whose_first_64k_are_ascii_is_read_as_gbk(self, cdc):
        rows = [f"r{i},{make_id(date(1950 + i // 400, 1, 1), seq=1 + i % 400)},{A1}" for i in range(2000)]
        rows.append(f"王芳,{ID_1},{A1}")
        data = ("\n".join(["name,id_number,village_code", *rows]) + "\n").encode("gbk")
        assert data[: 1 << 16].isascii()
        result = run(data, cdc)
        assert result.read == 2001 and result.rejected == 0
        assert Resident.objects.get(id_number=ID_1).name == "王芳"


class TestLongCells:
    def test_a_200_kb_cell_rejects_its_row_naming_the_column(self, cdc):
        huge = "甲" * 200_000
        result = run(csv_bytes(line(), line("李强", ID_2, address=huge), line("孙七", ID_3)), cdc)
        assert (result.read, result.created, result.rejected) == (3, 2, 1)
        [err] = result.errors
        assert (err.row, err.column) == (
            3,
            "现住址",
        ) and "内容过长（200000 个字符，最多 1000 个）" in err.message

    def test_the_api_answers_200_with_the_row_error(self, client, cdc):
        from django.core.files.uploadedfile import SimpleUploadedFile

        client.force_login(cdc)
        data = csv_bytes(line(), line("李强", ID_2, address="x" * 200_000))
        r = client.post("/api/v1/residents/import", {"file": SimpleUploadedFile("c.csv", data)})
        assert r.status_code == 200, r.content
        assert (r.json()["created"], r.json()["rejected"]) == (1, 1)

    def test_the_command_line_reports_it_without_a_traceback(self, cdc, tmp_path):
        from django.core.management import call_command

        p = tmp_path / "c.csv"
        p.write_bytes(csv_bytes(line(), line("李强", ID_2, address="x" * 200_000)))
        out = io.StringIO()
        call_command("import-residents", str(p), stdout=out)
        assert "拒绝 1" in out.getvalue() and "[现住址] 内容过长" in out.getvalue()


class TestErrorLists:
    def _bad_file(self, n: int) -> bytes:
        return csv_bytes(*[line(f"人{i}", ID_1, village="330199009009") for i in range(n)])

    def test_the_api_lists_the_first_errors_and_their_total(self, client, cdc, settings):
        from django.core.files.uploadedfile import SimpleUploadedFile

        settings.VAXOPS_IMPORT_ERRORS_LISTED = 100
        client.force_login(cdc)
        r = client.post(
            "/api/v1/residents/import", {"file": SimpleUploadedFile("c.csv", self._bad_file(150))}
        )
        body = r.json()
        assert (body["rejected"], body["errors_total"], len(body["errors"])) == (150, 150, 100)

    def test_the_result_keeps_only_so_many_errors_in_memory(self, cdc, settings):
        settings.VAXOPS_IMPORT_ERRORS_KEPT = 30
        result = run(self._bad_file(50), cdc)
        assert (result.rejected, result.errors_total, len(result.errors)) == (50, 50, 30)

    def test_the_command_line_writes_every_error_to_a_file_as_text(self, cdc, tmp_path, settings):
        from django.core.management import call_command

        settings.VAXOPS_IMPORT_ERRORS_LISTED = 10
        p = tmp_path / "c.csv"
        p.write_bytes(self._bad_file(60) + (line("=cmd|' /C calc'!A0", ID_2) + "\n").encode())
        out, errors = io.StringIO(), tmp_path / "errors.csv"
        call_command("import-residents", str(p), "--errors", str(errors), stdout=out)
        assert "共 61 条错误" in out.getvalue()
        rows = list(csv.reader(io.StringIO(errors.read_text(encoding="utf-8-sig"))))
        assert rows[0] == ["行号", "列", "错误原因"] and len(rows) == 62
        assert all(not r[2].startswith("=") for r in rows)

        out = io.StringIO()
        call_command("import-residents", str(p), "--json", stdout=out)
        body = json.loads(out.getvalue())
        assert (len(body["errors"]), body["errors_total"]) == (10, 61)


class TestUploadsEnd:
    def test_old_error_reports_are_cleared_by_the_daily_job(self, cdc, settings):
        from datetime import timedelta

        from django.utils import timezone
        from django_q.models import Schedule

        from vaxops.registry.models import ImportJob
        from vaxops.registry.tasks import import_errors_expire

        settings.VAXOPS_IMPORT_ERRORS_KEEP_DAYS = 7
        now = timezone.now()
        errors = [{"row": 2, "column": "姓名", "message": "姓名不能为空"}]
        old = ImportJob.objects.create(created_by=cdc, filename="a.csv", errors=errors, rejected=1)
        recent = ImportJob.objects.create(created_by=cdc, filename="b.csv", errors=errors, rejected=1)
        ImportJob.objects.filter(pk=old.pk).update(finished_at=now - timedelta(days=8))
        ImportJob.objects.filter(pk=recent.pk).update(finished_at=now - timedelta(days=6))

        assert import_errors_expire() == 1
        old.refresh_from_db()
        recent.refresh_from_db()
        assert (old.errors, old.rejected) == ([], 1) and recent.errors == errors
        assert Schedule.objects.filter(func="vaxops.registry.tasks.import_errors_expire").exists()

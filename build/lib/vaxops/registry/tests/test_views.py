"""The web pages, through the Django test client."""

import io
import re
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from vaxops.accounts.roles import ROLES
from vaxops.accounts.services import user_create
from vaxops.conftest import PASSWORD, make_id
from vaxops.jurisdictions.models import Division
from vaxops.registry.models import ImportJob, Resident
from vaxops.registry.tables import TEMPLATE_HEADERS

A1 = "330199001001"
HEADER = ["姓名", "证件号码", "手机号码", "村(社区)代码", "接种意愿"]
ID_1 = make_id(date(1980, 5, 1), 1)
ID_2 = make_id(date(1975, 3, 9), 2, sex="M")
ID_3 = make_id(date(1990, 12, 31), 3)


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def xlsx_upload(rows: list[list], name: str = "census.xlsx") -> SimpleUploadedFile:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return SimpleUploadedFile(name, buf.getvalue())


def sheet_rows(content: bytes) -> list[tuple]:
    wb = load_workbook(io.BytesIO(content), read_only=True)
    return [tuple(r) for r in wb.worksheets[0].iter_rows(values_only=True)]


class TestLogin:
    def test_it_renders_in_chinese_by_default(self, client, county):
        r = client.get("/accounts/login/")

        assert r.status_code == 200
        body = r.content.decode()
        assert '<html lang="zh-hans">' in body
        assert "<h1>登录</h1>" in body
        assert "用户名" in body and "密码" in body

    def test_it_switches_to_english(self, client, county):
        r = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})

        assert r.status_code == 302
        assert r["Location"] == "/accounts/login/"
        body = client.get("/accounts/login/").content.decode()
        assert '<html lang="en">' in body

    def test_it_shows_english_words_after_switching(self, client, county):
        client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})

        body = client.get("/accounts/login/").content.decode()

        # The page announces English; its heading and labels must be English too.
        assert "<h1>登录</h1>" not in body
        assert "用户名" not in body

    def test_it_switches_back_to_chinese(self, client, county):
        client.post("/i18n/setlang/", {"language": "en", "next": "/"})
        client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})

        assert '<html lang="zh-hans">' in client.get("/accounts/login/").content.decode()

    def test_it_signs_in_and_redirects_home(self, client, worker_a):
        r = client.post("/accounts/login/", {"username": "worker_a", "password": PASSWORD})

        assert r.status_code == 302
        assert r["Location"] == "/"
        assert client.get("/").status_code == 200

    def test_it_signs_out(self, client, worker_a):
        client.force_login(worker_a)

        client.post("/accounts/logout/")

        assert client.get("/").status_code == 302


@pytest.fixture
def role_users(county, employer):
    township = Division.objects.get(code="330199001000")
    village = Division.objects.get(code=A1)
    out = {}
    for role in ROLES:
        kw = {"division": county}
        if role.code == "village_worker":
            kw = {"division": village}
        elif role.code.startswith("site_") or role.code == "township_worker":
            kw = {"division": township}
        elif role.code == "employer_contact":
            kw = {"employer": employer}
        out[role.code] = user_create(username=f"u_{role.code}", password=PASSWORD, role=role.code, **kw)
    return out


class TestHome:
    def test_it_renders_for_every_role(self, client, role_users):
        Resident.objects.create(
            id_type="resident_id",
            id_number=ID_1,
            name="王芳",
            village_id=Division.objects.get(code=A1).pk,
            village_code=A1,
        )
        for code, user in role_users.items():
            client.force_login(user)
            r = client.get("/")
            if code == "hospital":  # the hospital's home is its inbox of referred people
                assert r.status_code == 302 and r.url == "/safety/hospital/", code
                r = client.get(r.url)
            assert r.status_code == 200, code
            assert user.role_label in r.content.decode(), code

    def test_it_offers_each_role_its_tasks(self, client, role_users):
        def tasks(code):
            client.force_login(role_users[code])
            return client.get("/").content.decode()

        assert "导入摸底名单" in tasks("village_worker")
        assert "查询审计日志" not in tasks("village_worker")
        assert "查询审计日志" in tasks("auditor")
        assert "导入摸底名单" not in tasks("auditor")
        assert "查询辖区居民" not in tasks("leader")
        assert "辖区建档人数" in tasks("leader")
        assert "辖区建档人数" not in tasks("hospital")

    def test_it_shows_the_scope(self, client, worker_a):
        client.force_login(worker_a)

        assert "甲镇1村" in client.get("/").content.decode()


@pytest.fixture
def sixty(village_a1):
    Resident.objects.bulk_create(
        [
            Resident(
                id_type="resident_id",
                id_number=make_id(date(1980, 1, 1), i),
                name=f"居民{i:03d}",
                village=village_a1,
                village_code=A1,
            )
            for i in range(60)
        ]
    )


class TestResidentsList:
    def test_it_paginates_by_fifty(self, client, worker_a, sixty):
        client.force_login(worker_a)

        first = client.get("/residents/").content.decode()
        second = client.get("/residents/", {"page": 2}).content.decode()

        assert "共 60 人" in first
        assert "1 / 2" in first
        assert len(re.findall(r'href="/residents/\d+/"', first)) == 50
        assert len(re.findall(r'href="/residents/\d+/"', second)) == 10
        assert "居民000" in first and "居民049" in first and "居民050" not in first
        assert "2 / 2" in second
        assert "居民050" in second and "居民059" in second and "居民049" not in second

    def test_it_answers_htmx_with_only_the_table(self, client, worker_a, sixty):
        client.force_login(worker_a)

        r = client.get("/residents/", {"q": "居民05"}, HTTP_HX_REQUEST="true")

        body = r.content.decode()
        assert r.status_code == 200
        assert "<html" not in body
        assert "<table>" in body
        assert "共 10 人" in body
        assert "居民055" in body

    def test_it_renders_the_whole_page_without_htmx(self, client, worker_a, sixty):
        client.force_login(worker_a)

        body = client.get("/residents/").content.decode()

        assert "<html" in body
        assert '<div id="results">' in body

    def test_it_filters_by_willingness(self, client, worker_a, sixty):
        Resident.objects.filter(name="居民007").update(willingness="refused")
        client.force_login(worker_a)

        body = client.get("/residents/", {"willingness": "refused"}).content.decode()

        assert "共 1 人" in body
        assert "居民007" in body


class TestImportPage:
    def upload(self, client, django_capture_on_commit_callbacks, upload, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/residents/import/", {"file": upload, **extra})

    def test_it_renders_the_form(self, client, worker_a):
        client.force_login(worker_a)

        r = client.get("/residents/import/")

        assert r.status_code == 200
        assert 'type="file"' in r.content.decode()

    def test_it_is_forbidden_without_the_import_permission(self, client, leader, auditor):
        for user in (leader, auditor):
            client.force_login(user)
            assert client.get("/residents/import/").status_code == 403

    def test_it_runs_the_job_and_shows_the_counts(self, client, worker_a, django_capture_on_commit_callbacks):
        client.force_login(worker_a)
        upload = xlsx_upload(
            [
                HEADER,
                ["王芳", ID_1, "13812345678", A1, "愿意"],
                ["李强", ID_2, "1381234", A1, "愿意"],
                ["孙七", ID_3, "", A1, ""],
            ]
        )

        r = self.upload(client, django_capture_on_commit_callbacks, upload)

        job = ImportJob.objects.get()
        assert r.status_code == 302
        assert r["Location"] == f"/residents/import/{job.pk}/"
        assert job.status == "done", job.message
        assert (job.read, job.created, job.rejected) == (3, 2, 1)
        page = client.get(r["Location"]).content.decode()
        assert "读取 3 行：新建 2，更新 0，未变 0，拒绝 1" in page
        assert "已完成" in page
        assert f"/residents/import/{job.pk}/errors.xlsx" in page
        assert Resident.objects.count() == 2

    def test_it_runs_a_csv_job(self, client, worker_a, django_capture_on_commit_callbacks):
        client.force_login(worker_a)
        data = f"姓名,证件号码,手机号码,村(社区)代码\n王芳,{ID_1},13812345678,{A1}\n".encode()

        self.upload(
            client, django_capture_on_commit_callbacks, SimpleUploadedFile("census.csv", data, "text/csv")
        )

        job = ImportJob.objects.get()
        assert job.status == "done", job.message
        assert (job.read, job.created) == (1, 1)

    def test_it_runs_a_csv_job_stored_on_disk(
        self, client, worker_a, django_capture_on_commit_callbacks, settings, tmp_path
    ):
        # Production keeps uploads in the file system (the default storage), not in memory.
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        }
        settings.MEDIA_ROOT = tmp_path
        client.force_login(worker_a)
        data = f"姓名,证件号码,手机号码,村(社区)代码\n王芳,{ID_1},13812345678,{A1}\n".encode()

        self.upload(
            client, django_capture_on_commit_callbacks, SimpleUploadedFile("census.csv", data, "text/csv")
        )

        job = ImportJob.objects.get()
        assert job.status == "done", job.message
        assert (job.read, job.created) == (1, 1)
        # The upload was on disk while the job ran and is deleted when it ends (its counts stay).
        assert not list(tmp_path.rglob("census*.csv")) and not job.file

    def test_it_polls_the_job_with_htmx(self, client, worker_a, django_capture_on_commit_callbacks):
        client.force_login(worker_a)
        self.upload(
            client, django_capture_on_commit_callbacks, xlsx_upload([HEADER, ["王芳", ID_1, "", A1, ""]])
        )
        job = ImportJob.objects.get()

        r = client.get(f"/residents/import/{job.pk}/", HTTP_HX_REQUEST="true")

        body = r.content.decode()
        assert "<html" not in body
        assert 'id="job-counts"' in body
        assert 'aria-valuenow="100"' in body

    def test_it_reports_a_file_that_cannot_be_read(
        self, client, worker_a, django_capture_on_commit_callbacks
    ):
        client.force_login(worker_a)

        self.upload(client, django_capture_on_commit_callbacks, xlsx_upload([["手机号码"], ["13812345678"]]))

        job = ImportJob.objects.get()
        assert job.status == "failed"
        assert "缺少必需的列" in job.message
        assert "缺少必需的列" in client.get(f"/residents/import/{job.pk}/").content.decode()

    def test_it_refuses_an_empty_upload(self, client, worker_a):
        client.force_login(worker_a)

        r = client.post("/residents/import/", {"file": SimpleUploadedFile("empty.csv", b"")})

        assert r.status_code == 200
        assert "文件不能为空" in r.content.decode()
        assert not ImportJob.objects.exists()

    def test_it_downloads_the_row_errors_as_xlsx(self, client, worker_a, django_capture_on_commit_callbacks):
        client.force_login(worker_a)
        self.upload(
            client,
            django_capture_on_commit_callbacks,
            xlsx_upload(
                [
                    HEADER,
                    ["王芳", ID_1, "13812345678", A1, "愿意"],
                    ["李强", ID_2, "1381234", A1, "也许"],
                ]
            ),
        )
        job = ImportJob.objects.get()

        r = client.get(f"/residents/import/{job.pk}/errors.xlsx")

        assert r.status_code == 200
        assert r["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        rows = sheet_rows(r.content)
        assert rows[0] == ("行号", "姓名", "证件号码", "列", "错误原因")
        assert {(row, name, col) for row, name, _masked, col, _ in rows[1:]} == {
            (3, "李强", "手机号码"),
            (3, "李强", "接种意愿"),
        }

    def test_it_hides_another_users_job(self, client, worker_a, worker_b, django_capture_on_commit_callbacks):
        client.force_login(worker_a)
        self.upload(
            client, django_capture_on_commit_callbacks, xlsx_upload([HEADER, ["王芳", ID_1, "", A1, ""]])
        )
        job = ImportJob.objects.get()
        client.force_login(worker_b)

        assert client.get(f"/residents/import/{job.pk}/").status_code == 404
        assert client.get(f"/residents/import/{job.pk}/errors.xlsx").status_code == 404

    def test_it_applies_the_scope_of_the_uploader(self, client, worker_b, django_capture_on_commit_callbacks):
        client.force_login(worker_b)

        self.upload(
            client, django_capture_on_commit_callbacks, xlsx_upload([HEADER, ["王芳", ID_1, "", A1, ""]])
        )

        job = ImportJob.objects.get()
        assert (job.created, job.rejected) == (0, 1)
        assert "管辖范围" in job.errors[0]["message"]
        assert not Resident.objects.exists()


class TestTemplate:
    def test_it_downloads_a_template_with_the_chinese_headers(self, client, worker_a):
        client.force_login(worker_a)

        r = client.get("/residents/import/template.xlsx")

        assert r.status_code == 200
        rows = sheet_rows(r.content)
        assert list(rows[0]) == TEMPLATE_HEADERS
        for h in (
            "姓名",
            "证件类型",
            "证件号码",
            "性别",
            "出生日期",
            "手机号码",
            "现住址",
            "村(社区)代码",
            "工作单位",
            "人群分类",
            "接种意愿",
        ):
            assert h in rows[0]
        assert len(rows) == 1  # the headers alone: the example is on the instructions sheet
        wb = load_workbook(io.BytesIO(r.content), read_only=True)
        assert wb.sheetnames == ["摸底名单", "填写说明"]
        notes = [tuple(x) for x in wb["填写说明"].iter_rows(values_only=True)]
        assert ("张三", "居民身份证", "11010519491231002X") in [x[:3] for x in notes]

    def test_the_downloaded_template_imports_nobody(self, client, cdc):
        from vaxops.registry.services import residents_import
        from vaxops.registry.tables import open_table

        client.force_login(cdc)
        content = client.get("/residents/import/template.xlsx").content

        result = residents_import(table=open_table(io.BytesIO(content)), actor=cdc)

        assert (result.read, result.created, result.rejected) == (0, 0, 0), result.errors
        assert not Resident.objects.exists()

    def test_its_example_row_is_valid_but_copied_in_it_is_skipped_with_a_warning(self, client, cdc):
        from vaxops.registry.services import EXAMPLE_ID_NUMBER, residents_import
        from vaxops.registry.tables import open_table

        client.force_login(cdc)
        notes = load_workbook(io.BytesIO(client.get("/residents/import/template.xlsx").content))["填写说明"]
        example = next(list(r) for r in notes.iter_rows(values_only=True) if r[2] == EXAMPLE_ID_NUMBER)
        real = [*example]
        real[0], real[2], real[4] = "李四", make_id(date(1949, 12, 31), 7), None
        wb = Workbook()
        wb.active.append(TEMPLATE_HEADERS)
        wb.active.append(example)
        wb.active.append(real)
        buf = io.BytesIO()
        wb.save(buf)
        buf.seek(0)

        result = residents_import(table=open_table(buf), actor=cdc)

        assert (result.read, result.created, result.rejected) == (2, 1, 1), result.errors
        assert list(Resident.objects.values_list("name", flat=True)) == ["李四"]
        (warning,) = result.errors
        assert warning.row == 2 and "示例行" in warning.message and warning.name == "张三"
        assert warning.masked_id == "110105********002X"

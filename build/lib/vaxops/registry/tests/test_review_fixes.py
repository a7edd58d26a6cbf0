"""Guards found in review: admin reach, employer imports, request ids, failed jobs keep their row errors."""

import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from vaxops.audit.models import AuditEvent
from vaxops.conftest import make_id
from vaxops.registry.models import ImportJob, Resident
from vaxops.registry.services import residents_import
from vaxops.registry.tables import open_table


def _table(text: str):
    data = text.encode()
    return open_table(io.BytesIO(data), size=len(data))


class TestAdminReach:
    @pytest.mark.parametrize(
        "path",
        [
            "/admin/registry/resident/",
            "/admin/clinic/dose/",
            "/admin/audit/auditevent/",
            "/admin/campaign/immunizationstatus/",
            "/admin/registry/importjob/",
        ],
    )
    def test_it_keeps_a_county_planner_out_of_personal_data_in_the_admin(self, client, cdc, path):
        assert cdc.is_staff
        client.force_login(cdc)
        assert client.get(path).status_code == 403

    def test_it_lets_the_planner_edit_the_catalogue(self, client, cdc):
        client.force_login(cdc)
        assert client.get("/admin/catalog/schedulepolicy/").status_code == 200


class TestEmployerImportCannotClaimOthers:
    def test_it_rejects_a_person_registered_elsewhere(self, cdc, employer_contact, village_a1, village_b1):
        number = make_id(date(1975, 5, 5), seq=41)
        residents_import(
            table=_table(f"姓名,证件号码,村(社区)代码\n原名,{number},{village_b1.code}\n"), actor=cdc
        )
        result = residents_import(
            table=_table(
                f"姓名,证件号码,村(社区)代码,手机号码\n改名,{number},{village_a1.code},13900001111\n"
            ),
            actor=employer_contact,
        )
        assert (result.rejected, result.updated) == (1, 0)
        assert (
            "不在您的管辖范围内" in result.errors[0].message
            and village_b1.name not in result.errors[0].message
        )
        r = Resident.objects.get(id_number=number)
        assert (r.name, r.village_code, r.employer_id, r.phone) == ("原名", village_b1.code, None, "")


class TestRequestId:
    def test_it_ignores_an_overlong_request_id(self, client, worker_a, village_a1):
        from vaxops.registry.services import resident_create

        r = resident_create(
            actor=worker_a,
            data={
                "name": "李",
                "id_number": make_id(date(1990, 1, 1), seq=42),
                "village_code": village_a1.code,
            },
        )
        client.force_login(worker_a)
        resp = client.post(f"/residents/{r.pk}/reveal/", {"purpose": "电话通知"}, HTTP_X_REQUEST_ID="x" * 200)
        assert resp.status_code == 200
        event = AuditEvent.objects.get(action="resident.reveal")
        assert 0 < len(event.request_id) <= 36 and event.request_id != "x" * 36


class TestFailedJobKeepsWhatItDid:
    def test_bad_bytes_late_in_the_file_refuse_it_before_anything_is_written(
        self, cdc, village_a1, monkeypatch, django_capture_on_commit_callbacks
    ):
        from vaxops.registry import services

        monkeypatch.setattr(services.settings, "VAXOPS_IMPORT_BATCH", 100)
        lines = ["姓名,证件号码,村(社区)代码"]
        for i in range(3000):
            number = make_id(date(1950 + i % 50, 1 + i % 12, 1 + i % 28), seq=i // 600 + 1 + (i % 7) * 60)
            lines.append(f"人{i},{number if i != 5 else 'bad'},{village_a1.code}")
        data = ("\n".join(lines) + "\n").encode() + b"\xff\xfe\xfa,x,y\n"
        with django_capture_on_commit_callbacks(execute=True):
            job = services.import_job_create(actor=cdc, upload=SimpleUploadedFile("census.csv", data))
        job = ImportJob.objects.get(pk=job.pk)
        assert job.status == ImportJob.Status.FAILED
        assert "第3002行含有无法识别的字符" in job.message and "整个文件未导入" in job.message
        assert (job.read, job.created, job.rejected) == (0, 0, 0)
        assert not Resident.objects.exists()


class TestAdminEditsAreAudited:
    def test_it_audits_a_priority_group_change(self, client, county):
        from vaxops.accounts.services import user_create
        from vaxops.registry.models import PriorityGroup

        admin_user = user_create(
            username="root", password="root-password-1", role="", division=county, is_superuser=True
        )
        client.force_login(admin_user)
        group = PriorityGroup.objects.get(code="general")
        r = client.post(
            f"/admin/registry/prioritygroup/{group.pk}/change/",
            {
                "code": "general",
                "name_zh": "其他人群（改）",
                "name_en": "Everyone else",
                "phase": 3,
                "sort": 99,
            },
        )
        assert r.status_code == 302
        event = AuditEvent.objects.get(action="admin.registry.prioritygroup.change")
        assert event.new["name_zh"] == "其他人群（改）" and event.actor_label == "root"

    def test_it_keeps_question_rules_in_the_audit_of_a_question_set(self, cdc):
        from vaxops.catalog.models import QuestionSet
        from vaxops.catalog.services import catalogue_snapshot

        snap = catalogue_snapshot(QuestionSet.objects.first())
        assert snap["questions"] and "code" in snap["questions"][0]

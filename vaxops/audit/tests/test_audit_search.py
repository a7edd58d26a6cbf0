"""Auditors (and the county CDC) search the audit log in the UI."""

from datetime import date

import pytest
from django.utils import timezone

from vaxops.audit.models import AuditEvent
from vaxops.audit.selectors import audit_search
from vaxops.audit.services import audit_record


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def events(worker_a, cdc):
    audit_record(
        actor=worker_a,
        action="resident.reveal",
        object_type="registry.resident",
        object_id=7,
        purpose="电话通知接种",
    )
    audit_record(
        actor=cdc,
        action="resident.update",
        object_type="registry.resident",
        object_id=8,
        old={"phone": "138****5678"},
        new={"phone": "139****1111"},
    )
    audit_record(actor=cdc, action="resident.import_create", object_type="registry.resident", object_id=9)


class TestAuditPage:
    def test_it_is_open_to_the_auditor(self, client, auditor, events):
        client.force_login(auditor)

        r = client.get("/audit/")

        assert r.status_code == 200
        body = r.content.decode()
        assert '<td class="c-action" title="resident.reveal">查看完整身份信息</td>' in body
        assert "电话通知接种" in body
        assert '<td class="c-action" title="resident.update">修改居民档案</td>' in body

    def test_it_is_open_to_the_county_cdc(self, client, cdc, events):
        client.force_login(cdc)

        assert client.get("/audit/").status_code == 200

    @pytest.mark.parametrize("who", ["worker_a", "leader", "employer_contact", "vaccinator"])
    def test_it_is_forbidden_to_others(self, client, request, who, events):
        client.force_login(request.getfixturevalue(who))

        r = client.get("/audit/")

        assert r.status_code == 403
        assert "电话通知接种" not in r.content.decode()

    def test_a_township_auditor_is_refused_the_county_wide_log(self, client, events):
        from vaxops.accounts.services import user_create
        from vaxops.jurisdictions.models import Division

        township = Division.objects.get(code="330199001000")
        local = user_create(username="auditor_t", password="x-123456789", role="auditor", division=township)
        client.force_login(local)

        r = client.get("/audit/")

        assert r.status_code == 403
        body = r.content.decode()
        assert "仅供县级及以上用户查看" in body and "电话通知接种" not in body

    def test_it_filters_by_action(self, client, auditor, events):
        client.force_login(auditor)

        body = client.get("/audit/", {"action": "resident.reveal"}).content.decode()

        assert '<td class="c-action" title="resident.reveal">查看完整身份信息</td>' in body
        assert '<td class="c-action" title="resident.update">修改居民档案</td>' not in body
        assert '<td class="c-action" title="resident.import_create">名单导入：新增居民</td>' not in body

    def test_it_filters_by_action_prefix(self, client, auditor, events):
        client.force_login(auditor)

        body = client.get("/audit/", {"action": "resident.import"}).content.decode()

        assert '<td class="c-action" title="resident.import_create">名单导入：新增居民</td>' in body
        assert '<td class="c-action" title="resident.reveal">查看完整身份信息</td>' not in body

    def test_it_shows_the_source_address(self, client, auditor, worker_a, village_a1):
        from vaxops.conftest import make_id
        from vaxops.registry.models import Resident

        r = Resident.objects.create(
            id_type="resident_id",
            id_number=make_id(date(1980, 5, 1)),
            name="王芳",
            village=village_a1,
            village_code=village_a1.code,
        )
        client.force_login(worker_a)
        client.post(f"/residents/{r.pk}/reveal/", {"purpose": "电话通知接种"}, REMOTE_ADDR="10.7.7.7")
        client.force_login(auditor)

        body = client.get("/audit/", {"action": "resident.reveal"}).content.decode()

        assert "10.7.7.7" in body


class TestAuditSearch:
    def test_it_filters_by_actor_object_and_text(self, events):
        assert [e.action for e in audit_search(actor="worker_a")] == ["resident.reveal"]
        assert [e.action for e in audit_search(object_id="8")] == ["resident.update"]
        assert [e.action for e in audit_search(text="电话通知")] == ["resident.reveal"]

    def test_it_filters_by_local_date(self, events):
        today = timezone.localdate(AuditEvent.objects.first().at)

        assert audit_search(date_from=today, date_to=today).count() == AuditEvent.objects.count()
        assert audit_search(date_from=date(2000, 1, 1), date_to=date(2000, 1, 2)).count() == 0

    def test_it_lists_newest_first(self, events):
        actions = [e.action for e in audit_search()]

        assert actions[0] == "resident.import_create"
        assert actions[-1].startswith("user.create")

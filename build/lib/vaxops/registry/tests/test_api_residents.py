"""/api/v1/residents: list, create, update, detail, import; scoped, audited, idempotent."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from vaxops.audit.models import AuditEvent
from vaxops.conftest import make_id
from vaxops.core.errors import CoreErrorCode
from vaxops.core.idempotency import idempotent
from vaxops.core.models import IdempotencyRecord
from vaxops.registry.errors import RegistryErrorCode
from vaxops.registry.models import Resident
from vaxops.registry.services import resident_create
from vaxops.testing.refusals import refused

A1, B1 = "330199001001", "330199002001"
ID = make_id(date(1980, 5, 1), 1)
MASKED_ID = ID[:6] + "********" + ID[-4:]


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api(client, worker_a):
    client.force_login(worker_a)
    return client


def payload(**kw) -> dict:
    return {
        "name": "王芳",
        "id_number": ID,
        "village_code": A1,
        "phone": "13812345678",
        "willingness": "愿意",
        **kw,
    }


def post(client, data, **headers):
    return client.post("/api/v1/residents", data, content_type="application/json", **headers)


def seed(actor, **kw) -> Resident:
    """A resident registered through the service (audited), without going through the API."""
    return resident_create(actor=actor, data=payload(**kw))


class TestOpenApi:
    def test_it_lists_the_residents_paths(self, client, county):
        r = client.get("/api/v1/openapi.json")

        assert r.status_code == 200
        paths = r.json()["paths"]
        for p in (
            "/api/v1/residents",
            "/api/v1/residents/{resident_id}",
            "/api/v1/residents/import",
            "/api/v1/residents/{resident_id}/reveal",
            "/api/v1/jurisdictions",
        ):
            assert p in paths
        assert {"get", "post"} <= set(paths["/api/v1/residents"])
        assert {"get", "patch"} <= set(paths["/api/v1/residents/{resident_id}"])


class TestAuth:
    def test_it_answers_401_without_credentials(self, client, county):
        assert client.get("/api/v1/residents").status_code == 401
        assert post(client, payload()).status_code == 401
        assert not Resident.objects.exists()


class TestCreate:
    def test_it_creates_and_answers_201_masked_and_audited(self, api, worker_a):
        r = post(api, payload(), REMOTE_ADDR="10.0.0.9")

        assert r.status_code == 201, r.content
        body = r.json()
        assert body["id_number_masked"] == MASKED_ID
        assert body["phone_masked"] == "138****5678"
        assert body["sex"] == "F"
        assert body["birth_date"] == "1980-05-01"
        assert body["village_code"] == A1
        assert body["willingness"] == "willing"
        assert ID not in r.content.decode()
        assert "13812345678" not in r.content.decode()
        resident = Resident.objects.get()
        assert body["id"] == resident.pk
        assert resident.id_number == ID
        event = AuditEvent.objects.get(action="resident.create")
        assert (event.actor, event.object_id, event.ip) == (worker_a, str(resident.pk), "10.0.0.9")

    def test_it_audits_the_creation_with_masked_values(self, worker_a):
        resident = seed(worker_a)

        event = AuditEvent.objects.get(action="resident.create")
        assert event.actor == worker_a
        assert event.object_id == str(resident.pk)
        assert event.new["id_number"] == MASKED_ID
        assert event.new["phone"] == "138****5678"
        assert ID not in str(event.new)
        assert "13812345678" not in str(event.new)

    def test_it_refuses_a_duplicate_document_in_chinese(self, api, worker_a):
        seed(worker_a)

        r = post(api, payload(name="王芳芳"))

        assert r.status_code == 400
        body = r.json()
        assert body["field"] == "id_number"
        assert "已建档" in body["message"]
        assert Resident.objects.count() == 1
        assert AuditEvent.objects.filter(action="resident.create").count() == 1

    def test_it_treats_a_15_digit_number_as_the_same_person(self, api, worker_a):
        seed(worker_a)

        r = post(api, payload(id_number="330199800501002"))

        assert r.status_code == 400
        assert Resident.objects.count() == 1

    def test_it_names_the_field_of_an_invalid_id_number(self, api):
        r = post(api, payload(id_number=ID[:-1] + ("0" if ID[-1] != "0" else "1")))

        assert r.status_code == 400
        body = r.json()
        assert body["field"] == "id_number"
        assert "校验位" in body["message"]
        assert not Resident.objects.exists()

    def test_it_names_the_field_of_an_invalid_phone(self, api):
        r = post(api, payload(phone="12345"))

        assert r.status_code == 400
        assert r.json()["field"] == "phone"
        assert not Resident.objects.exists()

    def test_it_refuses_a_village_outside_the_scope(self, api):
        r = post(api, payload(village_code=B1))

        assert r.status_code == 403
        assert r.json()["code"] == "out_of_scope"
        assert not Resident.objects.exists()

    def test_it_forces_the_employer_of_an_employer_contact(self, employer_contact, employer):
        resident = seed(employer_contact, village_code=B1, employer="")

        assert resident.employer == employer
        assert resident.employer_name == employer.name

    def test_it_refuses_a_role_without_add_permission(self, client, vaccinator):
        client.force_login(vaccinator)

        assert post(client, payload()).status_code == 403
        assert not Resident.objects.exists()


class TestIdempotency:
    def test_it_answers_a_retry_with_the_first_body(self, api):
        first = post(api, payload(), HTTP_IDEMPOTENCY_KEY="k-1")
        second = post(api, payload(), HTTP_IDEMPOTENCY_KEY="k-1")

        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert Resident.objects.count() == 1
        assert AuditEvent.objects.filter(action="resident.create").count() == 1
        assert IdempotencyRecord.objects.count() == 1

    def test_it_refuses_the_same_key_with_another_body(self, api, worker_a):
        request = RequestFactory().post("/api/v1/residents", HTTP_IDEMPOTENCY_KEY="k-1")
        request.user = worker_a
        idempotent(request, payload(), lambda: (201, {"id": seed(worker_a).pk}))

        r = post(api, payload(id_number=make_id(date(1990, 1, 1), 4)), HTTP_IDEMPOTENCY_KEY="k-1")

        assert r.status_code == 400
        assert r.json()["code"] == "idempotency_key_reused"
        assert Resident.objects.count() == 1


class TestIdempotentWrites:
    """``vaxops.core.idempotency.idempotent`` around the real service, as the API calls it."""

    def request(self, user, key="k-1", path="/api/v1/residents"):
        request = RequestFactory().post(path, HTTP_IDEMPOTENCY_KEY=key)
        request.user = user
        return request

    def create(self, user, data):
        return lambda: (201, {"id": resident_create(actor=user, data=data).pk})

    def test_it_runs_the_work_once_per_key(self, worker_a):
        first = idempotent(self.request(worker_a), payload(), self.create(worker_a, payload()))
        second = idempotent(self.request(worker_a), payload(), self.create(worker_a, payload()))

        assert first == second
        assert first[0] == 201
        assert Resident.objects.count() == 1
        assert AuditEvent.objects.filter(action="resident.create").count() == 1

    def test_it_refuses_the_same_key_with_another_body(self, worker_a):
        idempotent(self.request(worker_a), payload(), self.create(worker_a, payload()))
        other = payload(id_number=make_id(date(1990, 1, 1), 4))

        with refused(CoreErrorCode.IDEMPOTENCY_KEY_REUSED):
            idempotent(self.request(worker_a), other, self.create(worker_a, other))
        assert Resident.objects.count() == 1

    def test_it_refuses_the_same_key_on_another_endpoint(self, worker_a):
        idempotent(self.request(worker_a), payload(), self.create(worker_a, payload()))

        with refused(CoreErrorCode.IDEMPOTENCY_KEY_REUSED):
            idempotent(self.request(worker_a, path="/api/v1/residents/import"), payload(), lambda: (200, {}))

    def test_it_keeps_keys_per_user(self, worker_a, cdc):
        idempotent(self.request(worker_a, key="shared"), payload(), self.create(worker_a, payload()))
        other = payload(id_number=make_id(date(1990, 1, 1), 4))

        status, _ = idempotent(self.request(cdc, key="shared"), other, self.create(cdc, other))

        assert status == 201
        assert Resident.objects.count() == 2

    def test_it_does_not_store_a_failed_attempt(self, worker_a):
        bad = payload(phone="12345")
        with refused(RegistryErrorCode.RESIDENT_INVALID):
            idempotent(self.request(worker_a), bad, self.create(worker_a, bad))

        status, _ = idempotent(self.request(worker_a), payload(), self.create(worker_a, payload()))

        assert status == 201
        assert IdempotencyRecord.objects.count() == 1

    def test_it_runs_the_work_every_time_without_a_key(self, worker_a):
        request = RequestFactory().post("/api/v1/residents")
        request.user = worker_a
        idempotent(request, payload(), self.create(worker_a, payload()))
        other = payload(id_number=make_id(date(1990, 1, 1), 4))

        idempotent(request, other, self.create(worker_a, other))

        assert Resident.objects.count() == 2
        assert not IdempotencyRecord.objects.exists()


class TestUpdate:
    def test_it_changes_a_field_and_audits_old_and_new(self, api, worker_a):
        rid = seed(worker_a).pk

        r = api.patch(
            f"/api/v1/residents/{rid}",
            {"phone": "13900001111", "willingness": "拒绝"},
            content_type="application/json",
        )

        assert r.status_code == 200, r.content
        assert r.json()["phone_masked"] == "139****1111"
        assert r.json()["willingness"] == "refused"
        resident = Resident.objects.get(pk=rid)
        assert resident.phone == "13900001111"
        assert resident.name == "王芳"
        event = AuditEvent.objects.get(action="resident.update")
        assert event.actor == worker_a
        assert event.object_id == str(rid)
        assert event.old == {"phone": "138****5678", "willingness": "willing"}
        assert event.new == {"phone": "139****1111", "willingness": "refused"}

    def test_it_writes_nothing_when_nothing_changes(self, api, worker_a):
        rid = seed(worker_a).pk

        r = api.patch(f"/api/v1/residents/{rid}", {"phone": "13812345678"}, content_type="application/json")

        assert r.status_code == 200
        assert not AuditEvent.objects.filter(action="resident.update").exists()

    def test_it_answers_404_outside_the_scope(self, client, worker_a, worker_b):
        rid = seed(worker_a).pk
        client.force_login(worker_b)

        r = client.patch(
            f"/api/v1/residents/{rid}", {"phone": "13900001111"}, content_type="application/json"
        )

        assert r.status_code == 404
        assert Resident.objects.get(pk=rid).phone == "13812345678"

    def test_it_refuses_moving_a_resident_out_of_the_scope(self, api, worker_a):
        rid = seed(worker_a).pk

        r = api.patch(f"/api/v1/residents/{rid}", {"village_code": B1}, content_type="application/json")

        assert r.status_code == 403
        assert Resident.objects.get(pk=rid).village_code == A1

    def test_it_names_the_field_of_an_invalid_value(self, api, worker_a):
        rid = seed(worker_a).pk

        r = api.patch(f"/api/v1/residents/{rid}", {"phone": "123"}, content_type="application/json")

        assert r.status_code == 400
        assert r.json()["field"] == "phone"


class TestList:
    def test_it_paginates_with_limit_and_offset(self, api, worker_a):
        for i in range(3):
            seed(worker_a, name=f"王{i}", id_number=make_id(date(1980, 5, 1), 10 + i))

        r = api.get("/api/v1/residents", {"limit": 2, "offset": 0})

        assert r.json()["count"] == 3
        assert len(r.json()["items"]) == 2

    def test_it_filters_by_willingness(self, api, worker_a):
        seed(worker_a)
        seed(worker_a, name="李", id_number=make_id(date(1980, 5, 1), 10), willingness="拒绝")

        items = api.get("/api/v1/residents", {"willingness": "refused"}).json()["items"]

        assert [i["name"] for i in items] == ["李"]


class TestImport:
    def test_it_imports_a_file_and_answers_counts(self, api):
        data = (
            f"姓名,证件号码,手机号码,村(社区)代码\n王芳,{ID},13812345678,{A1}\n"
            f"李强,{make_id(date(1975, 3, 9), 2, sex='M')},1,{A1}\n"
        ).encode()

        r = api.post("/api/v1/residents/import", {"file": SimpleUploadedFile("census.csv", data, "text/csv")})

        assert r.status_code == 200, r.content
        body = r.json()
        assert (body["read"], body["created"], body["updated"], body["unchanged"], body["rejected"]) == (
            2,
            1,
            0,
            0,
            1,
        )
        assert body["errors"] == [{"row": 3, "column": "手机号码", "message": body["errors"][0]["message"]}]
        assert Resident.objects.get().id_number == ID

    def test_it_answers_400_for_an_unreadable_file(self, api):
        r = api.post("/api/v1/residents/import", {"file": SimpleUploadedFile("x.csv", b"foo,bar\n1,2\n")})

        assert r.status_code == 400
        assert r.json()["code"] == "file_columns_missing"

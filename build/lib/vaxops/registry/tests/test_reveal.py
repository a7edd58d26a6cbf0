"""Masked display, the audited reveal of a full ID number and phone, and search by full document."""

from datetime import date

import pytest

from vaxops.audit.models import AuditEvent
from vaxops.conftest import make_id
from vaxops.core.errors import PermissionDenied, ValidationFailed
from vaxops.jurisdictions.models import Division
from vaxops.registry.models import Resident
from vaxops.registry.selectors import residents_search
from vaxops.registry.services import resident_find_by_document, resident_reveal

ID = make_id(date(1980, 5, 1), 1)
MASKED_ID = ID[:6] + "********" + ID[-4:]
PHONE = "13812345678"
MASKED_PHONE = "138****5678"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def wang(village_a1):
    return Resident.objects.create(
        id_type="resident_id",
        id_number=ID,
        name="王芳",
        sex="F",
        birth_date=date(1980, 5, 1),
        phone=PHONE,
        village=village_a1,
        village_code=village_a1.code,
    )


@pytest.fixture
def li(village_b1):
    return Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(date(1975, 3, 9), 2, sex="M"),
        name="李强",
        sex="M",
        birth_date=date(1975, 3, 9),
        phone="13900001111",
        village=village_b1,
        village_code=village_b1.code,
    )


class TestMaskedDisplay:
    def test_it_masks_in_the_web_list(self, client, worker_a, wang):
        client.force_login(worker_a)

        body = client.get("/residents/").content.decode()

        assert MASKED_ID in body
        assert MASKED_PHONE in body
        assert ID not in body
        assert PHONE not in body

    def test_it_masks_in_the_web_detail(self, client, worker_a, wang):
        client.force_login(worker_a)

        body = client.get(f"/residents/{wang.pk}/").content.decode()

        assert f'<dd id="id-number">{MASKED_ID}</dd>' in body
        assert f'<dd id="phone">{MASKED_PHONE}</dd>' in body
        assert ID not in body
        assert PHONE not in body

    def test_it_masks_in_the_api(self, client, worker_a, wang):
        client.force_login(worker_a)

        item = client.get("/api/v1/residents").json()["items"][0]
        detail = client.get(f"/api/v1/residents/{wang.pk}").json()

        for out in (item, detail):
            assert out["id_number_masked"] == MASKED_ID
            assert out["phone_masked"] == MASKED_PHONE
            assert ID not in str(out)
            assert PHONE not in str(out)

    def test_it_masks_like_the_design_example(self):
        from vaxops.registry.domain import mask_id, mask_phone

        assert mask_id("11010519491231002X") == "110105********002X"
        assert mask_phone("13812345678") == "138****5678"


class TestRevealService:
    def test_it_returns_the_full_values_and_audits_them(self, worker_a, wang):
        revealed = resident_reveal(actor=worker_a, resident_id=wang.pk, purpose="电话通知接种")

        assert revealed == {"id_number": ID, "phone": PHONE}
        event = AuditEvent.objects.get(action="resident.reveal")
        assert event.actor == worker_a
        assert event.actor_label == "worker_a"
        assert event.purpose == "电话通知接种"
        assert event.object_type == "registry.resident"
        assert event.object_id == str(wang.pk)
        assert ID not in str(event.new) and ID not in event.object_repr

    @pytest.mark.parametrize("purpose", ["", "   ", "x"])
    def test_it_requires_a_purpose(self, worker_a, wang, purpose):
        with pytest.raises(ValidationFailed) as exc:
            resident_reveal(actor=worker_a, resident_id=wang.pk, purpose=purpose)

        assert exc.value.field == "purpose"
        assert not AuditEvent.objects.filter(action="resident.reveal").exists()

    def test_it_refuses_a_user_without_reveal_permission(self, vaccinator, wang):
        with pytest.raises(PermissionDenied):
            resident_reveal(actor=vaccinator, resident_id=wang.pk, purpose="核对身份")

        assert not AuditEvent.objects.filter(action="resident.reveal").exists()

    def test_it_does_not_reveal_outside_the_scope(self, worker_b, wang):
        from vaxops.core.errors import NotFound

        with pytest.raises(NotFound):
            resident_reveal(actor=worker_b, resident_id=wang.pk, purpose="电话通知接种")
        assert not AuditEvent.objects.filter(action="resident.reveal").exists()


class TestRevealView:
    def test_it_reveals_and_records_the_address(self, client, worker_a, wang):
        client.force_login(worker_a)

        r = client.post(
            f"/residents/{wang.pk}/reveal/", {"purpose": "电话通知接种"}, REMOTE_ADDR="10.20.30.40"
        )

        assert r.status_code == 200
        body = r.content.decode()
        assert f'<dd id="full-id">{ID}</dd>' in body
        assert f'<dd id="full-phone">{PHONE}</dd>' in body
        event = AuditEvent.objects.get(action="resident.reveal")
        assert event.ip == "10.20.30.40"
        assert event.actor == worker_a
        assert event.purpose == "电话通知接种"
        assert event.request_id

    def test_it_ignores_a_forwarded_for_header(self, client, worker_a, wang):
        client.force_login(worker_a)

        client.post(
            f"/residents/{wang.pk}/reveal/",
            {"purpose": "电话通知接种"},
            REMOTE_ADDR="10.20.30.40",
            HTTP_X_FORWARDED_FOR="1.2.3.4",
        )

        assert AuditEvent.objects.get(action="resident.reveal").ip == "10.20.30.40"

    def test_it_answers_400_without_a_purpose(self, client, worker_a, wang):
        client.force_login(worker_a)

        r = client.post(f"/residents/{wang.pk}/reveal/", {"purpose": ""})

        assert r.status_code == 400
        assert ID not in r.content.decode()
        assert not AuditEvent.objects.filter(action="resident.reveal").exists()

    def test_it_answers_403_without_reveal_permission(self, client, vaccinator, wang):
        client.force_login(vaccinator)

        r = client.post(f"/residents/{wang.pk}/reveal/", {"purpose": "核对身份"})

        assert r.status_code == 403
        assert ID not in r.content.decode()
        assert not AuditEvent.objects.filter(action="resident.reveal").exists()

    def test_it_hides_the_reveal_form_without_permission(self, client, vaccinator, wang):
        client.force_login(vaccinator)

        body = client.get(f"/residents/{wang.pk}/").content.decode()

        assert "/reveal/" not in body

    def test_it_reveals_through_the_api(self, client, worker_a, wang):
        client.force_login(worker_a)

        r = client.post(
            f"/api/v1/residents/{wang.pk}/reveal",
            {"purpose": "电话通知接种"},
            content_type="application/json",
            REMOTE_ADDR="10.9.8.7",
        )

        assert r.status_code == 200
        assert r.json() == {"id_number": ID, "phone": PHONE}
        event = AuditEvent.objects.get(action="resident.reveal")
        assert (event.ip, event.purpose, event.actor) == ("10.9.8.7", "电话通知接种", worker_a)

    def test_it_answers_403_in_the_api_without_permission(self, client, vaccinator, wang):
        client.force_login(vaccinator)

        r = client.post(
            f"/api/v1/residents/{wang.pk}/reveal", {"purpose": "核对身份"}, content_type="application/json"
        )

        assert r.status_code == 403
        assert ID not in r.content.decode()


class TestFindByDocument:
    def test_it_finds_the_person_and_audits_the_search(self, worker_a, wang):
        found = resident_find_by_document(actor=worker_a, id_number=ID, purpose="现场核对")

        assert found == wang
        event = AuditEvent.objects.get(action="resident.search_by_document")
        assert event.actor == worker_a
        assert event.purpose == "现场核对"
        assert event.object_id == str(wang.pk)
        assert event.new == {"query": MASKED_ID, "found": True}

    def test_it_accepts_a_lower_case_x_and_spaces(self, county, worker_a):
        x_id = next(
            make_id(date(1980, 5, 1), s) for s in range(1, 200) if make_id(date(1980, 5, 1), s).endswith("X")
        )
        village = Division.objects.get(code="330199001001")
        r = Resident.objects.create(
            id_type="resident_id", id_number=x_id, name="陈", village=village, village_code=village.code
        )

        assert (
            resident_find_by_document(actor=worker_a, id_number=" " + x_id.lower() + " ", purpose="现场核对")
            == r
        )

    def test_it_audits_even_when_nothing_is_found(self, worker_a):
        unknown = make_id(date(2000, 1, 1), 7)

        assert resident_find_by_document(actor=worker_a, id_number=unknown, purpose="现场核对") is None

        event = AuditEvent.objects.get(action="resident.search_by_document")
        assert event.new["found"] is False
        assert event.object_id == ""
        assert event.purpose == "现场核对"

    def test_it_finds_nothing_outside_the_scope_but_still_audits(self, worker_b, wang):
        assert resident_find_by_document(actor=worker_b, id_number=ID, purpose="现场核对") is None

        assert AuditEvent.objects.get(action="resident.search_by_document").actor == worker_b

    @pytest.mark.parametrize("purpose", ["", " ", "x"])
    def test_it_requires_a_purpose(self, worker_a, wang, purpose):
        with pytest.raises(ValidationFailed):
            resident_find_by_document(actor=worker_a, id_number=ID, purpose=purpose)

        assert not AuditEvent.objects.filter(action="resident.search_by_document").exists()

    def test_it_requires_the_permission(self, vaccinator, wang):
        with pytest.raises(PermissionDenied):
            resident_find_by_document(actor=vaccinator, id_number=ID, purpose="现场核对")

    def test_it_finds_through_the_web_page(self, client, worker_a, wang):
        client.force_login(worker_a)

        r = client.post("/residents/find/", {"id_number": ID, "id_type": "", "purpose": "现场核对"})

        assert r.status_code == 302
        assert r["Location"] == f"/residents/{wang.pk}/"
        assert (
            AuditEvent.objects.filter(action="resident.search_by_document", purpose="现场核对").count() == 1
        )

    def test_it_finds_through_the_api_and_says_404_when_absent(self, client, worker_a, wang):
        client.force_login(worker_a)

        ok = client.post(
            "/api/v1/residents/find",
            {"id_number": ID, "purpose": "现场核对"},
            content_type="application/json",
        )
        missing = client.post(
            "/api/v1/residents/find",
            {"id_number": make_id(date(2000, 1, 1), 7), "purpose": "现场核对"},
            content_type="application/json",
        )

        assert ok.status_code == 200
        assert ok.json()["id"] == wang.pk
        assert ok.json()["id_number_masked"] == MASKED_ID
        assert missing.status_code == 404
        assert AuditEvent.objects.filter(action="resident.search_by_document").count() == 2


class TestSearch:
    def test_it_does_not_find_a_person_by_full_id_number(self, worker_a, wang):
        assert residents_search(user=worker_a, q=ID).count() == 0
        assert residents_search(user=worker_a, q=ID.lower()).count() == 0

    def test_it_does_not_find_a_person_by_phone(self, worker_a, wang):
        assert residents_search(user=worker_a, q=PHONE).count() == 0

    def test_it_does_not_find_a_person_by_full_id_in_the_web_list(self, client, worker_a, wang):
        client.force_login(worker_a)

        body = client.get("/residents/", {"q": ID}).content.decode()

        assert "王芳" not in body

    def test_it_does_not_find_a_person_by_full_id_in_the_api(self, client, worker_a, wang):
        client.force_login(worker_a)

        assert client.get("/api/v1/residents", {"q": ID}).json()["count"] == 0

    def test_it_finds_by_masked_id(self, worker_a, wang, village_a1):
        other = make_id(date(1980, 5, 2), 1)
        Resident.objects.create(
            id_type="resident_id",
            id_number=other,
            name="赵",
            village=village_a1,
            village_code=village_a1.code,
        )

        assert list(residents_search(user=worker_a, q=MASKED_ID)) == [wang]
        assert list(residents_search(user=worker_a, q=ID[:6] + "*" + ID[-4:])) == [wang]

    def test_it_finds_by_masked_id_through_the_web_list(self, client, worker_a, wang):
        client.force_login(worker_a)

        assert "王芳" in client.get("/residents/", {"q": MASKED_ID}).content.decode()

    def test_it_finds_by_name(self, worker_a, wang):
        assert list(residents_search(user=worker_a, q="王芳")) == [wang]
        assert list(residents_search(user=worker_a, q="王")) == [wang]

    def test_it_does_not_find_by_a_masked_query_that_spells_out_the_whole_number(self, worker_a, wang):
        # Only the "*" is hidden: prefix and suffix together are every character of the number, so this is
        # a full-ID lookup without a purpose and without an audit record.
        q = ID[:16] + "*" + ID[16:]

        assert residents_search(user=worker_a, q=q).count() == 0


class TestMaskedSearchOfShortDocuments:
    """A passport or permit shows 2+2 characters; a "masked" query may not reveal more than that."""

    @pytest.fixture
    def passport_holder(self, village_a1):
        return Resident.objects.create(
            id_type="passport",
            id_number="E12345678",
            name="外宾",
            village=village_a1,
            village_code=village_a1.code,
        )

    def test_it_finds_a_passport_by_its_masked_form(self, worker_a, passport_holder):
        assert list(residents_search(user=worker_a, q="E1*****78")) == [passport_holder]
        assert list(residents_search(user=worker_a, q="E1*78")) == [passport_holder]

    @pytest.mark.parametrize("q", ["E12345*5678", "E1234*678", "E12345***5678", "E123*****678"])
    def test_it_refuses_queries_that_spell_out_a_short_number(self, worker_a, passport_holder, q):
        assert list(residents_search(user=worker_a, q=q)) == []

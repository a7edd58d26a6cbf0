"""The private link to a person's record and certificate (issue 11, Medium): stored and revocable, shown only
to the roles that hand it over, a GET never writes a certificate, each successful use is audited."""

import datetime as dt
import uuid

import pytest
from django.core.signing import TimestampSigner
from django.test import Client

from vaxops.audit.models import AuditEvent
from vaxops.certs.models import VaccinationCertificate
from vaxops.clinic import services as clinic_services
from vaxops.clinic.models import RecordLink
from vaxops.conftest import PASSWORD
from vaxops.core.actors import SystemActor
from vaxops.desk import services as desk_services
from vaxops.sites.models import StaffMember

from .desk_setup import code, open_site, ready_person, ten_in_the_morning


@pytest.fixture
def desk1(county, village_a1, vaccinator, monkeypatch):
    ten_in_the_morning(monkeypatch)
    return open_site(county, village_a1, vaccinator)


def _site_user(username, role, desk1, staff_name):
    from vaxops.accounts.services import user_create

    user = user_create(username=username, password=PASSWORD, role=role, division=desk1.site.division)
    StaffMember.objects.filter(site=desk1.site, name=staff_name).update(user=user)
    return user


@pytest.fixture
def signing_key(db):
    from vaxops.certs.services import signing_key_generate

    return signing_key_generate(actor=SystemActor("test"), common_name="VaxOps DSC test")


@pytest.fixture
def registrar(desk1):
    return _site_user("registrar", "site_registration", desk1, "registration员")


@pytest.fixture
def nurse(desk1):
    return _site_user("nurse", "site_observation", desk1, "observation员")


@pytest.fixture
def given(desk1, village_a1, vaccinator):
    person = ready_person(desk1, village_a1, 1)
    dose = desk_services.dose_administer(
        actor=vaccinator, resident_id=person.pk, code=code(1), client_id=uuid.uuid4().hex, phone_last4="5678"
    )
    return person, dose


def _as(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _link(person, dose=None) -> str:
    link = clinic_services.record_link_issue(
        actor=SystemActor("t"), resident=person, channel="staff", dose=dose
    )
    return clinic_services.record_link_token(link)


def test_the_link_is_shown_only_to_the_roles_that_hand_it_over(given, vaccinator, registrar, nurse, cdc):
    _, dose = given
    url = f"/desk/doses/{dose.pk}/record/"
    assert 'id="record-links"' not in _as(vaccinator).get(url).content.decode()
    for user in (registrar, nurse, cdc):
        page = _as(user).get(url).content.decode()
        assert 'id="record-links"' in page and 'id="no-links"' in page, user.role
    assert not RecordLink.objects.exists()  # showing the page made no link

    assert _as(vaccinator).post(f"/desk/doses/{dose.pk}/record-link/").status_code == 403
    r = _as(registrar).post(f"/desk/doses/{dose.pk}/record-link/", {"action": "create"})
    assert r.status_code == 302
    link = RecordLink.objects.get()
    assert (link.created_by, link.channel, link.dose) == (registrar, "staff", dose)
    page = _as(nurse).get(url).content.decode()
    assert f"/r/{clinic_services.record_link_token(link)}/" in page
    assert f"/r/{clinic_services.record_link_token(link)}/" not in _as(vaccinator).get(url).content.decode()
    assert AuditEvent.objects.filter(action="record_link.create", object_id=str(link.pk)).count() == 1


def test_the_certificate_page_never_issues_on_a_get(client, given, signing_key):
    person, _ = given
    token = _link(person)

    for _ in range(3):
        assert client.get(f"/certs/{token}/").status_code == 200
        client.get(f"/certs/{token}/certificate.pdf")
        client.head(f"/certs/{token}/")
    assert not VaccinationCertificate.objects.exists()

    assert client.post(f"/certs/{token}/").status_code == 302
    assert VaccinationCertificate.objects.filter(resident=person, issued_via="link").count() == 1


def test_the_person_revokes_their_link_and_it_stops_opening_both_pages(client, given, signing_key):
    person, _ = given
    token, other = _link(person), _link(person)
    assert client.get(f"/r/{token}/").status_code == 200

    r = client.post(f"/r/{token}/revoke/")

    assert r.status_code == 200 and 'id="revoked"' in r.content.decode()
    assert client.get(f"/r/{token}/").status_code == 404
    assert client.get(f"/certs/{token}/").status_code == 404
    assert client.post(f"/r/{token}/revoke/").status_code == 404
    assert client.get(f"/r/{other}/").status_code == 200  # another link of theirs still works
    link = RecordLink.objects.get(pk=clinic_services.record_link_from_token(other).pk - 1)
    assert link.revoked_at is not None and link.revoke_reason == "受种者本人申请撤销"
    assert AuditEvent.objects.filter(action="record_link.revoke", object_id=str(link.pk)).count() == 1


def test_staff_revoke_the_persons_links_at_their_request(given, registrar, vaccinator):
    person, dose = given
    tokens = [_link(person), _link(person)]
    url = f"/desk/doses/{dose.pk}/record-link/"
    assert _as(vaccinator).post(url, {"action": "revoke"}).status_code == 403

    r = _as(registrar).post(url, {"action": "revoke", "reason": "本人来电要求"})

    assert r.status_code == 302
    assert all(Client().get(f"/r/{t}/").status_code == 404 for t in tokens)
    assert set(RecordLink.objects.values_list("revoke_reason", flat=True)) == {"本人来电要求"}


def test_voiding_the_dose_revokes_its_links(given, cdc):
    person, dose = given
    of_dose, other = _link(person, dose), _link(person)

    clinic_services.dose_void(actor=cdc, dose_id=dose.pk, reason="登记错人", disposition="returned")

    assert Client().get(f"/r/{of_dose}/").status_code == 404
    assert Client().get(f"/r/{other}/").status_code == 200
    assert RecordLink.objects.get(dose=dose).revoke_reason == "接种记录作废：登记错人"


def test_an_expired_link_and_a_token_of_the_old_kind_are_refused(given):
    person, _ = given
    token = _link(person)
    RecordLink.objects.update(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert Client().get(f"/r/{token}/").status_code == 404
    # before links were stored, a token was the resident's id signed with a timestamp: it opens nothing now
    old = TimestampSigner(salt="vaxops.record").sign(str(person.pk))
    assert Client().get(f"/r/{old}/").status_code == 404
    assert Client().get(f"/certs/{old}/").status_code == 404


def test_each_successful_use_is_audited_and_a_refusal_writes_nothing(given, signing_key):
    person, _ = given
    token = _link(person)
    before = AuditEvent.objects.count()

    Client().get(f"/r/{token}/")
    Client().get(f"/certs/{token}/")
    Client().get(f"/r/{token[:-1]}x/")

    uses = AuditEvent.objects.filter(action="record_link.use").order_by("id")
    assert [e.new["page"] for e in uses] == ["record", "certificate"]
    assert all(e.new["resident_id"] == person.pk for e in uses)
    assert AuditEvent.objects.count() == before + 2


def test_the_sms_after_a_dose_makes_one_link_for_that_dose(given, vaccinator):
    person, dose = given
    first = clinic_services.record_link_send(
        actor=vaccinator, resident=person, base_url="https://x", dose=dose
    )
    again = clinic_services.record_link_send(
        actor=vaccinator, resident=person, base_url="https://x", dose=dose
    )
    assert first is not None and again is None
    assert RecordLink.objects.filter(dose=dose, channel="dose_sms").count() == 1

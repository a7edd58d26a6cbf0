"""The certificate can be reached (issue 17, item 1): after a dose the desk signs it, so "打印接种凭证" and the
texted ``/r/`` link show its QR; the certificate page is linked from the desk, the record, the resident page
and the assessment page. A GET of the person's own link still never signs one."""

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from vaxops.certs.models import VaccinationCertificate
from vaxops.clinic import services as clinic_services
from vaxops.core.actors import SystemActor
from vaxops.desk import services as desk_services

from .desk_setup import code, open_site, ready_person, ten_in_the_morning


@pytest.fixture
def desk1(county, village_a1, vaccinator, monkeypatch):
    ten_in_the_morning(monkeypatch)
    return open_site(county, village_a1, vaccinator)


@pytest.fixture
def signing_key(db):
    from vaxops.certs.services import signing_key_generate

    return signing_key_generate(actor=SystemActor("test"), common_name="VaxOps DSC test")


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


def _token(person, dose) -> str:
    link = clinic_services.record_link_issue(
        actor=SystemActor("t"), resident=person, channel="sms", dose=dose
    )
    return clinic_services.record_link_token(link)


def test_after_the_dose_the_desk_signs_the_certificate_and_links_its_page(
    given, desk1, vaccinator, signing_key
):
    person, dose = given
    page = _as(vaccinator).get(reverse("desk:vaccinated", args=[desk1.session.pk, dose.pk])).content.decode()
    assert 'id="certificate-issued"' in page
    assert f'href="{reverse("certs:staff", args=[person.pk])}"' in page
    cert = VaccinationCertificate.objects.get(resident=person)
    assert cert.revoked_at is None and list(cert.doses.values_list("pk", flat=True)) == [dose.pk]


def test_the_printed_record_carries_the_signed_qr(given, vaccinator, signing_key):
    person, dose = given
    page = _as(vaccinator).get(reverse("desk:record", args=[dose.pk])).content.decode()
    cert = VaccinationCertificate.objects.get(resident=person)
    assert 'id="record-qr"' in page and "<svg" in page
    assert cert.uvci in page
    assert f'href="{reverse("certs:staff", args=[person.pk])}"' in page
    # printed again: the same certificate, not a new one
    _as(vaccinator).get(reverse("desk:record", args=[dose.pk]))
    assert VaccinationCertificate.objects.filter(resident=person).count() == 1


def test_the_texted_link_shows_the_qr_once_the_desk_signed_it(client, given, vaccinator, signing_key):
    person, dose = given
    token = _token(person, dose)
    before = client.get(f"/r/{token}/").content.decode()
    assert 'id="record-qr"' not in before and 'id="certificate-issue"' in before  # a GET never signs
    assert not VaccinationCertificate.objects.exists()
    _as(vaccinator).get(reverse("desk:record", args=[dose.pk]))
    after = client.get(f"/r/{token}/").content.decode()
    cert = VaccinationCertificate.objects.get(resident=person)
    assert 'id="record-qr"' in after and cert.uvci in after
    assert f'href="{reverse("certs:mine", args=[token])}"' in after


def test_the_vaccinator_may_open_the_certificate_page_the_desk_links(given, vaccinator, signing_key):
    person, _dose = given
    r = _as(vaccinator).get(reverse("certs:staff", args=[person.pk]))
    assert r.status_code == 200


def test_the_resident_and_assessment_pages_link_the_certificate(given, cdc):
    person, _dose = given
    href = f'href="{reverse("certs:staff", args=[person.pk])}"'
    c = _as(cdc)
    assert href in c.get(reverse("registry:resident", args=[person.pk])).content.decode()
    assert href in c.get(reverse("clinic:resident", args=[person.pk])).content.decode()


def test_without_a_signing_key_the_record_says_why_there_is_no_qr(given, vaccinator, settings):
    settings.VAXOPS_CERT_AUTO_KEYGEN = "0"
    _person, dose = given
    page = _as(vaccinator).get(reverse("desk:record", args=[dose.pk])).content.decode()
    assert 'id="record-qr"' not in page and 'id="record-qr-missing"' in page

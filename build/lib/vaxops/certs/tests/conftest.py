"""Fixtures of the certificate tests: a signing key under a temporary key directory, and a person with two
doses of BBIBP-CorV, the second given at the vaccination desk (lot, site, traceability code)."""

import datetime as dt
import uuid

import pytest

from vaxops.core.actors import SystemActor


@pytest.fixture(autouse=True)
def _fast_hasher_and_keys(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.VAXOPS_CERT_KEY_DIR = str(tmp_path / "keys")


@pytest.fixture
def signing_key(db):
    from vaxops.certs import services

    return services.signing_key_generate(actor=SystemActor("test"), common_name="VaxOps DSC test")


@pytest.fixture
def desk1(county, village_a1, vaccinator, monkeypatch):
    from vaxops.desk.tests.desk_setup import open_site, ten_in_the_morning

    ten_in_the_morning(monkeypatch)
    return open_site(county, village_a1, vaccinator)


@pytest.fixture
def vaccinated(desk1, village_a1, vaccinator):
    """王小明: dose 1 (BBIBP-CorV) recorded from paper 40 days ago, dose 2 given at the desk today."""
    from django.utils import timezone

    from vaxops.clinic.models import Dose
    from vaxops.desk import services as desk_services
    from vaxops.desk.tests.desk_setup import code, ready_person

    person = ready_person(desk1, village_a1, 1, name="王小明")
    Dose.objects.create(
        resident=person,
        product_code="BBIBP-CorV",
        given_on=timezone.localdate() - dt.timedelta(days=40),
        place="清溪县人民医院",
        external=True,
    )
    dose = desk_services.dose_administer(
        actor=vaccinator, resident_id=person.pk, code=code(1), client_id=uuid.uuid4().hex, phone_last4="5678"
    )
    return person, dose

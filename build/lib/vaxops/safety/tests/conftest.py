"""A site open today with a stocked lot, its staff, a paired county hospital and a designated severe-case
hospital, the county's expert panel, and a dose given at the desk whose observation is running."""

import uuid

import pytest

from vaxops.clinic.tests.conftest import *  # noqa: F403
from vaxops.conftest import _user
from vaxops.core.actors import SystemActor
from vaxops.desk import services as desk_services
from vaxops.desk.tests.desk_setup import code, open_site, ready_person, ten_in_the_morning
from vaxops.jurisdictions.models import Division
from vaxops.safety import services
from vaxops.safety.models import Expert


@pytest.fixture
def desk1(county, village_a1, vaccinator, monkeypatch):
    ten_in_the_morning(monkeypatch)
    return open_site(county, village_a1, vaccinator)


@pytest.fixture
def nurse(desk1):
    from vaxops.sites.models import StaffMember

    user = _user("nurse", "site_observation", division=Division.objects.get(code="330199001000"))
    StaffMember.objects.filter(site=desk1.site, name="observation员").update(user=user)
    return user


@pytest.fixture
def doctor(county):
    return _user("doctor", "hospital", division=county)


@pytest.fixture
def panel(county):
    return _user("panel", "safety_panel", division=county)


@pytest.fixture
def hospitals(county, desk1, cdc, doctor):
    paired = services.hospital_register(
        actor=cdc,
        name="清溪县中医院",
        level="2",
        designated_severe=False,
        phone="0571-00000121",
        beds_held=4,
        reporter_name="赵医生",
        reporter_phone="13800000121",
        division=county,
    )
    severe = services.hospital_register(
        actor=cdc,
        name="清溪县人民医院",
        level="3",
        designated_severe=True,
        phone="0571-00000120",
        beds_held=6,
        reporter_name="钱医生",
        reporter_phone="13800000120",
        division=county,
    )
    severe.staff.add(doctor)
    paired.staff.add(doctor)
    services.site_pair(actor=cdc, site=desk1.site, hospital=paired)
    return paired, severe


@pytest.fixture
def experts(db):
    return [
        Expert.objects.create(name=n, title="主任医师", specialty=s)
        for n, s in (("孙专家", "儿科"), ("周专家", "神经内科"), ("吴专家", "流行病学"))
    ]


def give(desk1, village, vaccinator, seq: int, serial: int):
    """A person checked in, screened and consenting receives the code with ``serial``; returns the dose."""
    person = ready_person(desk1, village, seq)
    return desk_services.dose_administer(
        actor=vaccinator,
        resident_id=person.pk,
        code=code(serial),
        client_id=uuid.uuid4().hex,
        phone_last4="5678",
    )


def note(dose, *, severity="severe", description="过敏性休克，呼吸困难，予肾上腺素"):
    return desk_services.reaction_note_add(
        actor=SystemActor("test"),
        observation_id=dose.observation.pk,
        severity=severity,
        description=description,
    )

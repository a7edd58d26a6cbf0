"""The session's "四有" as a roster: the paired hospital's trained rescue staff on duty (a site-wide assignment
with no desk) and the ambulance (on site or on rounds, its phone), asked by sites before the session opens."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from vaxops.audit.models import AuditEvent
from vaxops.core.actors import SystemActor
from vaxops.core.errors import ValidationFailed
from vaxops.safety import services
from vaxops.safety.errors import SafetyErrorCode
from vaxops.safety.models import AmbulanceCover
from vaxops.sites import domain as site_domain
from vaxops.sites import services as sites
from vaxops.sites.errors import SitesErrorCode
from vaxops.sites.models import Assignment, Certificate, Desk, StaffMember


def test_rescue_role_is_assigned_to_no_desk_and_trained():
    cert = site_domain.Certificate(
        kind=site_domain.CertificateKind.TRAINING,
        number="PX-R",
        valid_from=dt.date(2021, 1, 1),
        valid_to=None,
    )
    day = dt.date(2026, 12, 3)
    assert site_domain.may_assign("rescue", None, [cert], day) == (True, "")
    ok, why = site_domain.may_assign("rescue", None, [], day)
    assert not ok and "培训" in why
    ok, why = site_domain.may_assign("rescue", "observation", [cert], day)
    assert not ok and "不安排到留观区" in why
    ok, why = site_domain.may_assign("vaccination", None, [cert], day)
    assert not ok and "接种台" in why


@pytest.fixture
def tomorrow(desk1, hospitals):
    """Tomorrow's session at the paired site, desks staffed and the four items ticked, still planned."""
    actor = SystemActor("test")
    session = sites.session_plan(
        actor=actor, site=desk1.site, day=timezone.localdate() + dt.timedelta(days=1)
    )
    for kind in ("registration", "screening", "vaccination", "observation"):
        sites.assignment_add(
            actor=actor,
            session=session,
            staff=StaffMember.objects.get(site=desk1.site, name=f"{kind}员"),
            desk=Desk.objects.get(site=desk1.site, kind=kind, number=1),
            role=kind,
        )
    from django.contrib.auth import get_user_model

    confirmer = get_user_model().objects.filter(is_active=True).first()
    for item in ("medical_staff", "emergency_kit", "ambulance", "green_channel"):
        sites.readiness_confirm(actor=confirmer, session=session, item=item)
    return session


def _doctor_on_call(site, hospital, *, trained=True, name="急救医生"):
    member = StaffMember.objects.create(site=site, name=name, roles=["rescue"], phone="13800000999")
    if trained:
        Certificate.objects.create(
            staff=member, kind="training", number=f"JJ-{name}", valid_from=dt.date(2021, 1, 1)
        )
    if hospital is not None:
        hospital.rescue_staff.add(member)
    return member


def test_session_does_not_open_without_rescue_staff_and_ambulance(tomorrow, hospitals, cdc):
    ok, why = sites.session_open_check(tomorrow)
    assert not ok
    assert "清溪县中医院" in why and "医疗救治人员" in why and "救护车" in why
    with pytest.raises(ValidationFailed) as e:
        sites.session_open(actor=cdc, session=tomorrow)
    assert e.value.code == SitesErrorCode.SESSION_NOT_READY
    tomorrow.refresh_from_db()
    assert tomorrow.status == "planned"


def test_roster_complete_opens_the_session(tomorrow, hospitals, cdc, desk1):
    paired, _severe = hospitals
    doctor = _doctor_on_call(desk1.site, paired)
    a = services.rescue_duty_add(actor=cdc, session=tomorrow, staff=doctor)
    assert a.desk_id is None and a.role == "rescue"
    ok, why = sites.session_open_check(tomorrow)
    assert not ok and "救护车" in why and "医疗救治人员" not in why
    cover = services.ambulance_cover_set(
        actor=cdc, session=tomorrow, mode="on_rounds", phone="120-0571", plate="浙A12345"
    )
    assert cover.hospital == paired
    assert AuditEvent.objects.filter(action="safety.ambulance_cover_set").count() == 1
    # Set again (a retry): still one cover.
    services.ambulance_cover_set(actor=cdc, session=tomorrow, mode="on_site", phone="120-0571")
    assert AmbulanceCover.objects.filter(session=tomorrow).count() == 1
    assert AmbulanceCover.objects.get(session=tomorrow).mode == "on_site"
    assert sites.session_open_check(tomorrow) == (True, "")
    assert sites.session_open(actor=cdc, session=tomorrow).status == "open"


def test_rescue_staff_must_come_from_the_paired_hospital_and_be_trained(tomorrow, hospitals, cdc, desk1):
    paired, severe = hospitals
    stranger = _doctor_on_call(desk1.site, severe, name="别院医生")
    with pytest.raises(ValidationFailed) as e:
        services.rescue_duty_add(actor=cdc, session=tomorrow, staff=stranger)
    assert e.value.code == SafetyErrorCode.RESCUE_NOT_FROM_HOSPITAL
    untrained = _doctor_on_call(desk1.site, paired, trained=False, name="未培训医生")
    with pytest.raises(ValidationFailed) as e:
        services.rescue_duty_add(actor=cdc, session=tomorrow, staff=untrained)
    assert e.value.code == SitesErrorCode.STAFF_UNQUALIFIED
    assert not Assignment.objects.filter(session=tomorrow, role="rescue").exists()


def test_ambulance_needs_a_mode_and_a_phone(tomorrow, cdc):
    with pytest.raises(ValidationFailed) as e:
        services.ambulance_cover_set(actor=cdc, session=tomorrow, mode="parked", phone="120")
    assert e.value.code == SafetyErrorCode.AMBULANCE_MODE_UNKNOWN
    with pytest.raises(ValidationFailed) as e:
        services.ambulance_cover_set(actor=cdc, session=tomorrow, mode="on_site", phone="  ")
    assert e.value.code == SafetyErrorCode.AMBULANCE_PHONE_MISSING
    assert not AmbulanceCover.objects.exists()


def test_a_desk_assignment_without_a_desk_is_refused_by_the_database(tomorrow, desk1):
    member = StaffMember.objects.get(site=desk1.site, name="screening员")
    Assignment.objects.filter(session=tomorrow, staff=member).delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(session=tomorrow, staff=member, desk=None, role="screening")


def test_unpaired_site_keeps_the_legacy_check(tomorrow, desk1):
    from vaxops.safety.models import SitePairing

    SitePairing.objects.filter(site=desk1.site).delete()
    assert sites.session_open_check(tomorrow) == (True, "")


def test_cover_page_puts_rescue_staff_on_duty_and_records_the_ambulance(
    client, tomorrow, hospitals, cdc, desk1
):
    paired, _severe = hospitals
    doctor = _doctor_on_call(desk1.site, paired)
    client.force_login(cdc)
    url = f"/safety/sessions/{tomorrow.pk}/cover/"
    page = client.get(url)
    assert page.status_code == 200
    assert "无对口医院" in page.content.decode() and doctor.name in page.content.decode()
    client.post(url, {"do": "rescue", "staff": doctor.pk})
    client.post(url, {"do": "ambulance", "mode": "on_site", "phone": "0571-120", "plate": ""})
    assert Assignment.objects.filter(session=tomorrow, role="rescue", staff=doctor, desk=None).exists()
    assert AmbulanceCover.objects.get(session=tomorrow).phone == "0571-120"
    body = client.get(url).content.decode()
    assert "救治人员与救护车已落实" in body
    detail = client.get(f"/sites/sessions/{tomorrow.pk}/").content.decode()
    assert "现场救治值守" in detail and url in detail


def test_the_county_registers_a_hospitals_rescue_staff(hospitals, cdc, desk1):
    paired, _severe = hospitals
    doctor = _doctor_on_call(desk1.site, None, name="急诊医生")
    services.hospital_rescue_staff_add(actor=cdc, hospital=paired, staff=doctor)
    services.hospital_rescue_staff_add(actor=cdc, hospital=paired, staff=doctor)  # again: no change
    assert list(paired.rescue_staff.all()) == [doctor]
    assert AuditEvent.objects.filter(action="safety.rescue_staff_add").count() == 1
    nurse = StaffMember.objects.get(site=desk1.site, name="screening员")
    with pytest.raises(ValidationFailed) as e:
        services.hospital_rescue_staff_add(actor=cdc, hospital=paired, staff=nurse)
    assert e.value.code == SafetyErrorCode.RESCUE_ROLE_MISSING
    assert not paired.rescue_staff.filter(pk=nurse.pk).exists()

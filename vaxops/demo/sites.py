"""The demo county's sites: the first township's clinic (fixed, with the supply chain's cold chain) and a
large temporary site at the county sports hall, each with desks, hours, certified staff (one with an
expired certificate, to show the refusal), sessions for the next days, places reserved for a village and
an employer, tomorrow's "四有" partly confirmed, and bookings made through the three doors."""

import contextlib
import datetime as dt

from django.db import transaction

from vaxops.accounts.models import User
from vaxops.core.actors import SystemActor
from vaxops.core.errors import ValidationFailed
from vaxops.jurisdictions.models import Division
from vaxops.registry.models import Employer, Resident
from vaxops.sites import domain, services
from vaxops.sites.models import (
    Certificate,
    Desk,
    DeskKind,
    OpeningHours,
    Site,
    SiteKind,
    StaffMember,
    StaffRole,
)


def _desks(site: Site, vaccination: int) -> None:
    for kind in DeskKind.values:
        for n in range(1, (vaccination if kind == DeskKind.VACCINATION else 1) + 1):
            Desk.objects.get_or_create(site=site, kind=kind, number=n)


def demo_sites_build(*, county_code: str, today: dt.date) -> bool:
    """Build once; returns False when the demo sites exist already."""
    from vaxops.booking import services as booking
    from vaxops.supply.models import StockPlace

    if Site.objects.filter(code="QX-S001").exists():
        return False
    actor = SystemActor("seed-demo")
    county = Division.objects.get(code=county_code.ljust(12, "0"))
    town = Division.objects.filter(parent=county).order_by("code").first()
    with transaction.atomic():
        clinic = Site.objects.create(
            code="QX-S001",
            name=f"{town.name}卫生院接种门诊",
            kind=SiteKind.FIXED,
            division=town,
            address=f"清溪县{town.name}卫生院一楼",
            hospital_name="清溪县人民医院",
            hospital_phone="0571-00000120",
            per_desk_per_hour=20,
            slot_minutes=30,
            walk_in_share="0.10",
            stock_place=StockPlace.objects.filter(code="QX-S001").first(),
            qualification_number="QX-JZDW-2021-001",
            qualification_date=dt.date(2021, 1, 4),
        )
        hall = Site.objects.create(
            code="QX-L001",
            name="清溪县体育馆大规模临时接种点",
            kind=SiteKind.TEMPORARY,
            division=county,
            address="清溪县体育馆",
            hospital_name="清溪县人民医院",
            hospital_phone="0571-00000120",
            per_desk_per_hour=25,
            slot_minutes=60,
            walk_in_share="0.05",
            qualification_number="QX-JZDW-2021-017",
            qualification_date=dt.date(2021, 2, 20),
        )
        for site, vaccination, hours in (
            (clinic, 3, ((8, 0, 11, 30), (13, 30, 17, 0))),
            (hall, 10, ((8, 0, 18, 0),)),
        ):
            _desks(site, vaccination)
            for weekday in range(7):
                for h1, m1, h2, m2 in hours:
                    OpeningHours.objects.create(
                        site=site, weekday=weekday, start=dt.time(h1, m1), end=dt.time(h2, m2)
                    )
        names = {
            StaffRole.REGISTRATION: "登记员",
            StaffRole.SCREENING: "预检医生",
            StaffRole.VACCINATION: "接种护士",
            StaffRole.OBSERVATION: "留观护士",
            StaffRole.RESCUE: "急救医生",
        }
        staff = {}
        for role, label in names.items():
            for i in (1, 2):
                member = StaffMember.objects.create(site=clinic, name=f"{label}{i}", roles=[role.value])
                valid_to = (
                    today - dt.timedelta(days=3)
                    if (role is StaffRole.VACCINATION and i == 2)
                    else today + dt.timedelta(days=365)
                )
                Certificate.objects.create(
                    staff=member,
                    kind="training",
                    number=f"QXPX{member.pk:04d}",
                    valid_from=dt.date(2021, 3, 1),
                    valid_to=valid_to,
                    issuer="清溪县卫生健康局",
                )
                staff[(role, i)] = member
        for user in User.objects.filter(role__startswith="site_"):
            role = {
                "site_registration": StaffRole.REGISTRATION,
                "site_screening": StaffRole.SCREENING,
                "site_vaccinator": StaffRole.VACCINATION,
                "site_observation": StaffRole.OBSERVATION,
            }.get(user.role)
            if role is not None and staff[(role, 1)].user_id is None:
                StaffMember.objects.filter(pk=staff[(role, 1)].pk).update(user=user)

    sessions = []
    for offset in (1, 2, 3):
        day = today + dt.timedelta(days=offset)
        for site in (clinic, hall):
            with contextlib.suppress(ValidationFailed):  # a closed day (the clinic rests on Sundays)
                sessions.append(services.session_plan(actor=actor, site=site, day=day))
    tomorrow = next((s for s in sessions if s.site == clinic), None)
    if tomorrow is None:
        return True
    village = Division.objects.filter(parent=town).order_by("code").first()
    booking.session_reserve(
        actor=actor, session=tomorrow, key=f"V:{village.code}", label=village.name, places=20
    )
    employer = Employer.objects.order_by("code").first()
    if employer is not None:
        booking.session_reserve(
            actor=actor, session=tomorrow, key=f"E:{employer.pk}", label=employer.name, places=10
        )
    for role in (StaffRole.REGISTRATION, StaffRole.SCREENING, StaffRole.VACCINATION, StaffRole.OBSERVATION):
        desk = (
            Desk.objects.filter(site=clinic, kind=domain.DESK_FOR_ROLE[domain.StaffRole(role.value)].value)
            .order_by("number")
            .first()
        )
        services.assignment_add(
            actor=actor, session=tomorrow, staff=staff[(role, 1)], desk=desk, role=role.value
        )
    admin = User.objects.filter(username="cdc").first()
    if admin is not None:
        for item in ("medical_staff", "emergency_kit"):
            services.readiness_confirm(actor=admin, session=tomorrow, item=item, note="演示数据")
        _open_today(clinic=clinic, staff=staff, confirmer=admin, actor=actor, today=today)

    # Bookings through the doors: the village's people who may start now, and the employer's staff.
    slots = list(tomorrow.slots.order_by("start"))
    low, high = village.code_range
    people = Resident.objects.filter(
        village_code__gte=low, village_code__lte=high, birth_date__lte=dt.date(2003, 1, 1), doses__isnull=True
    ).order_by("id")[:40]
    made = 0
    for person in people:
        for slot in slots:
            try:
                with transaction.atomic():
                    booking.appointment_book(actor=actor, resident=person, slot=slot, channel="community")
                made += 1
                break
            except booking.SlotFull:
                continue
            except ValidationFailed:  # not eligible now: skip the person
                break
        if made >= 25:
            break
    if employer is not None:
        staff_list = Resident.objects.filter(employer=employer, doses__isnull=True).order_by("id")[:8]
        booking.employer_book(actor=actor, employer=employer, session=tomorrow, residents=list(staff_list))
    return True


def _open_today(*, clinic: Site, staff: dict, confirmer, actor, today: dt.date) -> None:
    """Today's session at the clinic, staffed by the demo's site users, "四有" confirmed and open, so the desk
    screens can be tried at once (walk-ins during the clinic's hours)."""
    with contextlib.suppress(ValidationFailed):
        session = services.session_plan(actor=actor, site=clinic, day=today)
        for role in (
            StaffRole.REGISTRATION,
            StaffRole.SCREENING,
            StaffRole.VACCINATION,
            StaffRole.OBSERVATION,
        ):
            desk = (
                Desk.objects.filter(
                    site=clinic, kind=domain.DESK_FOR_ROLE[domain.StaffRole(role.value)].value
                )
                .order_by("number")
                .first()
            )
            services.assignment_add(
                actor=actor, session=session, staff=staff[(role, 1)], desk=desk, role=role.value
            )
        for item in ("medical_staff", "emergency_kit", "ambulance", "green_channel"):
            services.readiness_confirm(actor=confirmer, session=session, item=item, note="演示数据")
        services.session_open(actor=actor, session=session)

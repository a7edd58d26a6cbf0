"""A site open today with its cold chain stocked, a certified vaccinator at desk 1 of an open session,
and a checked-in, screened, consenting adult: the state the vaccination desk starts from."""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from vaxops.booking import services as booking
from vaxops.clinic.models import ScreeningRecord
from vaxops.conftest import make_id
from vaxops.core.actors import SystemActor
from vaxops.desk import services as desk_services
from vaxops.registry.models import Resident
from vaxops.sites import services as sites
from vaxops.sites.models import Certificate, Desk, OpeningHours, Site, StaffMember
from vaxops.supply import services as supply
from vaxops.supply.models import ColdChainUnit, PlaceKind, StockPlace
from vaxops.supply.tests.factories import code, county_store, receive

SIGNATURE = "data:image/png;base64," + "iVBORw0KGgo" * 40


@dataclass
class Desk1:
    site: Site
    place: StockPlace
    session: object
    desk: Desk
    lot: object


def open_site(county, village, vaccinator_user, *, codes: int = 10, second_vaccinator=None) -> Desk1:
    actor = SystemActor("test")
    store = county_store(county)
    place = StockPlace.objects.create(
        code="S1", name="甲镇门诊冷柜", kind=PlaceKind.SITE, division=village.parent, parent=store
    )
    ColdChainUnit.objects.create(place=place, kind="refrigerator", usable_volume_cm3=100_000)
    lot = receive(store, n=codes)
    d = supply.dispatch_create(
        actor=actor, from_place=store, to_place=place, product=lot.product, doses=codes
    )
    supply.dispatch_receive(actor=actor, dispatch=d)
    site = Site.objects.create(
        code="S1",
        name="甲镇卫生院接种门诊",
        division=village.parent,
        hospital_name="县人民医院",
        stock_place=place,
        per_desk_per_hour=30,
        slot_minutes=60,
        walk_in_share="0.5",
        qualification_number="QX-JZDW-S1",
        qualification_date=dt.date(2021, 1, 1),
    )
    for weekday in range(7):
        OpeningHours.objects.create(site=site, weekday=weekday, start=dt.time(0, 0), end=dt.time(23, 59))
    for kind in ("registration", "screening", "vaccination", "observation"):
        Desk.objects.create(site=site, kind=kind, number=1)
    Desk.objects.create(site=site, kind="vaccination", number=2)
    session = sites.session_plan(actor=actor, site=site, day=timezone.localdate())
    for kind in ("registration", "screening", "vaccination", "observation"):
        user = vaccinator_user if kind == "vaccination" else None
        member = StaffMember.objects.create(site=site, name=f"{kind}员", roles=[kind], user=user)
        Certificate.objects.create(
            staff=member, kind="training", number=f"PX-{kind}", valid_from=dt.date(2021, 1, 1)
        )
        sites.assignment_add(
            actor=actor,
            session=session,
            staff=member,
            desk=Desk.objects.get(site=site, kind=kind, number=1),
            role=kind,
        )
    if second_vaccinator is not None:
        member = StaffMember.objects.create(
            site=site, name="接种员乙", roles=["vaccination"], user=second_vaccinator
        )
        Certificate.objects.create(
            staff=member, kind="training", number="PX-2", valid_from=dt.date(2021, 1, 1)
        )
        sites.assignment_add(
            actor=actor,
            session=session,
            staff=member,
            desk=Desk.objects.get(site=site, kind="vaccination", number=2),
            role="vaccination",
        )
    from django.contrib.auth import get_user_model

    confirmer = get_user_model().objects.filter(is_active=True).first()
    for item in ("medical_staff", "emergency_kit", "ambulance", "green_channel"):
        sites.readiness_confirm(actor=confirmer, session=session, item=item)
    session = sites.session_open(actor=actor, session=session)
    return Desk1(
        site=site,
        place=place,
        session=session,
        desk=Desk.objects.get(site=site, kind="vaccination", number=1),
        lot=lot,
    )


def ready_person(
    desk1: Desk1,
    village,
    seq: int,
    *,
    phone: str = "13912345678",
    consent: bool = True,
    screened: bool = True,
    name: str = "王小明",
) -> Resident:
    actor = SystemActor("test")
    person = Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(dt.date(1980, 5, 1), seq),
        name=name,
        village=village,
        village_code=village.code,
        birth_date=dt.date(1980, 5, 1),
        phone=phone,
    )
    booking.walk_in_register(actor=actor, resident=person, session=desk1.session)
    if screened:
        now = timezone.now()
        ScreeningRecord.objects.create(
            resident=person,
            at=now,
            screened_on=timezone.localdate(),
            question_set_version="test",
            temperature_c="36.5",
            outcome="proceed",
        )
    if consent:
        desk_services.consent_record(
            actor=actor,
            resident_id=person.pk,
            product_code=desk1.lot.product.code,
            signer_name=name,
            signature=SIGNATURE,
        )
    return person


def ten_in_the_morning(monkeypatch) -> dt.datetime:
    """Fix "now" at 10:00 local time today, so a desk test does not depend on the hour it runs at."""
    from django.utils import timezone as tz

    fixed = dt.datetime.combine(tz.localdate(), dt.time(10), tzinfo=tz.get_current_timezone()).astimezone(
        dt.UTC
    )
    monkeypatch.setattr(tz, "now", lambda: fixed)
    return fixed


__all__ = ["code", "open_site", "ready_person", "ten_in_the_morning", "SIGNATURE"]

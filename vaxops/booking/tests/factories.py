"""A site open every day 08:00–12:00 with two vaccination desks (20 people per desk per hour, 30-minute
slots: 20 places a slot), its desks for every step, and bookable residents."""

import datetime as dt

from django.utils import timezone

from vaxops.conftest import make_id
from vaxops.registry.models import Resident
from vaxops.sites import services as site_services
from vaxops.sites.models import Desk, DeskKind, OpeningHours, Site


def site(division, *, code: str = "S1", walk_in_share: str = "0", per_hour: int = 20, desks: int = 2) -> Site:
    s = Site.objects.create(
        code=code,
        name="甲镇卫生院接种门诊",
        division=division,
        hospital_name="清溪县人民医院",
        per_desk_per_hour=per_hour,
        walk_in_share=walk_in_share,
        qualification_number=f"QX-JZDW-{code}",
        qualification_date=dt.date(2021, 1, 1),
    )
    for weekday in range(7):
        OpeningHours.objects.create(site=s, weekday=weekday, start=dt.time(8), end=dt.time(12))
    for kind in DeskKind.values:
        for n in range(1, (desks if kind == DeskKind.VACCINATION else 1) + 1):
            Desk.objects.create(site=s, kind=kind, number=n)
    return s


def tomorrow() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=1)


def session(a_site: Site, actor, day: dt.date | None = None):
    return site_services.session_plan(actor=actor, site=a_site, day=day or tomorrow())


def resident(
    village,
    seq: int,
    *,
    name: str = "王小明",
    birth: dt.date = dt.date(1980, 5, 1),
    phone: str = "",
    employer=None,
) -> Resident:
    return Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(birth, seq),
        name=name,
        village=village,
        village_code=village.code,
        birth_date=birth,
        phone=phone,
        employer=employer,
    )

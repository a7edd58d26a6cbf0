"""A mobile team (流动接种队) of township 甲镇 with two combined desks and four certified people, its own
stock place under the township store with a cold box, and a county-trained helper."""

import datetime as dt

from vaxops.sites.models import Certificate, Desk, DeskKind, OpeningHours, Site, SiteKind, StaffMember
from vaxops.supply.models import ColdChainUnit, PlaceKind, StockPlace


def mobile_team(township, *, home: StockPlace | None = None) -> Site:
    place = None
    if home is not None:
        place = StockPlace.objects.create(
            code="M001", name="甲镇流动接种队", kind=PlaceKind.SITE, division=township, parent=home
        )
        ColdChainUnit.objects.create(place=place, kind="cold_box", name="冷藏箱1", usable_volume_cm3=20_000)
    team = Site.objects.create(
        code="M001",
        name="甲镇流动接种队",
        kind=SiteKind.MOBILE,
        division=township,
        hospital_name="清溪县人民医院",
        stock_place=place,
        qualification_number="QX-JZ-2021-07",
        qualification_date=dt.date(2021, 3, 1),
    )
    for weekday in range(7):
        OpeningHours.objects.create(site=team, weekday=weekday, start=dt.time(8), end=dt.time(12))
    Desk.objects.create(site=team, kind=DeskKind.REGISTRATION, number=1, also=[DeskKind.SCREENING])
    Desk.objects.create(site=team, kind=DeskKind.VACCINATION, number=1, also=[DeskKind.OBSERVATION])
    return team


def staff(team: Site, name: str, role: str, *, certified: bool = True) -> StaffMember:
    s = StaffMember.objects.create(site=team, name=name, roles=[role])
    if certified:
        Certificate.objects.create(
            staff=s, kind="training", number=f"C-{name}", valid_from=dt.date(2021, 1, 1), valid_to=None
        )
    return s

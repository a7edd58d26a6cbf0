"""The demo county's field operations: the first township's training course (one nurse passed and already
certified, one waiting for her exam score so the demo user can pass her and assign her at once), a mobile
team (流动接种队) with two combined desks sent tomorrow to an employer, carrying doses in its cold box, a
village's groups (村民小组, a building with a nested unit) with the grid head's log-in and a follow-up list
handed to the head. Every site prints its notice (接种注意事项) from its page."""

import contextlib
import datetime as dt

from django.db import transaction
from django.db.models import Count

from vaxops.accounts.models import User
from vaxops.catalog.models import Product
from vaxops.core.actors import SystemActor
from vaxops.core.errors import VaxOpsError
from vaxops.demo.supply import COUNTY_STORE
from vaxops.field import services as field
from vaxops.field.models import Course
from vaxops.jurisdictions.models import Division
from vaxops.registry import services as registry
from vaxops.registry.models import Employer, Resident
from vaxops.sites import services as site_services
from vaxops.sites.models import (
    Certificate,
    Desk,
    DeskKind,
    OpeningHours,
    Site,
    SiteKind,
    StaffMember,
    VenueKind,
)
from vaxops.supply.models import CodeState, ColdChainUnit, PlaceKind, StockPlace, TraceCode

ALL = ["实施方案", "免疫程序", "禁忌", "接种点管理", "冷链", "安全注射", "异常反应监测报告与处置"]


def _staff(site: Site, name: str, role: str, *, certified: bool) -> StaffMember:
    s, _ = StaffMember.objects.get_or_create(site=site, name=name, defaults={"roles": [role]})
    if certified:
        Certificate.objects.get_or_create(
            staff=s,
            kind="training",
            number=f"QX-PX-2021-{s.pk:04d}",
            defaults={"valid_from": dt.date(2021, 1, 20), "valid_to": None, "issuer": "清溪县卫生健康局"},
        )
    return s


def _training(*, town: Division, clinic: Site, actor, today: dt.date) -> None:
    course = field.course_create(
        actor=actor,
        code="PX-T001-01",
        title=f"{town.name}接种点人员培训（第一期）",
        division=town,
        syllabus=ALL,
        deadline=today + dt.timedelta(days=10),
    )
    passed = _staff(clinic, "周护士", "vaccination", certified=False)
    waiting = _staff(clinic, "吴护士", "vaccination", certified=False)
    later = _staff(clinic, "郑医生", "screening", certified=False)
    trainees = [field.trainee_enrol(actor=actor, course=course, staff=s) for s in (passed, waiting, later)]
    field.class_record(
        actor=actor,
        course=course,
        day=today,
        place=f"{town.name}卫生院会议室",
        topics=ALL,
        present=[t.pk for t in trainees[:2]],
    )
    field.exam_record(actor=actor, trainee=trainees[0], score="93", on=today)


def _mobile_team(*, town: Division, actor, today: dt.date) -> Site:
    # The team draws from its township's store, or from the county store when the township holds nothing.
    stores = [
        StockPlace.objects.filter(code=f"QX-T{town.code[6:9]}").first(),
        StockPlace.objects.filter(code=COUNTY_STORE).first(),
    ]
    stores = [p for p in stores if p is not None]
    home = next(
        (p for p in stores if TraceCode.objects.filter(place=p, state=CodeState.IN_STOCK).exists()),
        stores[0] if stores else None,
    )
    place = None
    if home is not None:
        place = StockPlace.objects.create(
            code="QX-M001", name=f"{town.name}流动接种队", kind=PlaceKind.SITE, division=town, parent=home
        )
        ColdChainUnit.objects.create(
            place=place, kind="cold_box", name="流动冷藏箱1", usable_volume_cm3=12_000
        )
    team = Site.objects.create(
        code="QX-M001",
        name=f"{town.name}流动接种队",
        kind=SiteKind.MOBILE,
        division=town,
        address=f"{town.name}卫生院（驻地）",
        hospital_name="清溪县人民医院",
        hospital_phone="0571-00000120",
        stock_place=place,
        qualification_number="QX-JZDW-2021-031",
        qualification_date=dt.date(2021, 3, 1),
        per_desk_per_hour=15,
        slot_minutes=60,
    )
    for weekday in range(7):
        OpeningHours.objects.create(site=team, weekday=weekday, start=dt.time(8, 30), end=dt.time(11, 30))
    reg = Desk.objects.create(site=team, kind=DeskKind.REGISTRATION, number=1, also=[DeskKind.SCREENING])
    vac = Desk.objects.create(site=team, kind=DeskKind.VACCINATION, number=1, also=[DeskKind.OBSERVATION])
    employer = Employer.objects.order_by("code").first()
    session = site_services.session_plan(
        actor=actor,
        site=team,
        day=today + dt.timedelta(days=1),
        venue={"venue_kind": VenueKind.EMPLOYER, "venue_employer": employer, "venue_address": "单位会议室"},
    )
    for name, role, desk in (
        ("钱登记", "registration", reg),
        ("孙预检", "screening", reg),
        ("李接种", "vaccination", vac),
        ("陈留观", "observation", vac),
    ):
        s = _staff(team, name, role, certified=role != "registration")
        site_services.assignment_add(actor=actor, session=session, staff=s, desk=desk, role=role)
    for item in ("medical_staff", "emergency_kit"):
        site_services.readiness_confirm(
            actor=User.objects.get(username="cdc"), session=session, item=item, note="演示数据"
        )
    if place is not None:
        in_stock = (
            TraceCode.objects.filter(place=home, state=CodeState.IN_STOCK)
            .values("lot__product")
            .annotate(n=Count("id"))
            .order_by("-n")
            .first()
        )
        if in_stock is not None:
            with contextlib.suppress(VaxOpsError):  # the store's stock did not allow it: no trip shown
                field.team_stock_out(
                    actor=actor,
                    session=session,
                    product=Product.objects.get(pk=in_stock["lot__product"]),
                    doses=10,
                    cold_box=place.units.get(),
                )
    return team


def _grid(*, village: Division, actor) -> None:
    head = User.objects.filter(username="gridhead").first()
    g1 = registry.village_group_create(
        actor=actor,
        village=village,
        name="第一村民小组",
        head_name="张组长",
        head_phone="13900000001",
        head=head,
    )
    g2 = registry.village_group_create(
        actor=actor, village=village, name="第二村民小组", head_name="李组长", head_phone="13900000002"
    )
    building = registry.village_group_create(
        actor=actor,
        village=village,
        name="3号楼",
        kind="building",
        head_name="王楼长",
        head_phone="13900000003",
    )
    unit = registry.village_group_create(
        actor=actor, village=village, name="1单元", kind="unit", parent=building, head_name="赵单元长"
    )
    ids = list(Resident.objects.filter(village=village).order_by("id").values_list("pk", flat=True))
    for group, part in ((g1, ids[0::4]), (g2, ids[1::4]), (building, ids[2::4]), (unit, ids[3::4])):
        if part:
            registry.residents_group_set(actor=actor, group=group, resident_ids=part)
    if head is not None:
        worker = User.objects.filter(username="village").first() or actor
        field.followup_list_assign(actor=worker, group=g1, category="not_started")


def demo_field_build(*, county_code: str, today: dt.date) -> bool:
    """Build once; returns False when the demo's field operations exist already."""
    if Course.objects.filter(code="PX-T001-01").exists():
        return False
    actor = SystemActor("seed-demo")
    county = Division.objects.get(code=county_code.ljust(12, "0"))
    town = Division.objects.filter(parent=county).order_by("code").first()
    village = Division.objects.filter(parent=town).order_by("code").first()
    clinic = Site.objects.filter(code="QX-S001").first()
    with transaction.atomic():
        if clinic is not None:
            _training(town=town, clinic=clinic, actor=User.objects.get(username="township"), today=today)
        _mobile_team(town=town, actor=actor, today=today)
        _grid(village=village, actor=actor)
    return True

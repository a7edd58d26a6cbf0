"""A mobile team opens a session at an employer with two combined desks; its stock goes out in a cold box
and what is left comes back, both on the ledger."""

import datetime as dt

import pytest
from django.utils import timezone

from vaxops.catalog.models import Product
from vaxops.core.errors import ValidationFailed
from vaxops.field import services
from vaxops.field.errors import FieldErrorCode
from vaxops.jurisdictions.models import Division
from vaxops.sites import services as site_services
from vaxops.sites.errors import SitesErrorCode
from vaxops.sites.models import Desk, ReadinessItem, SessionStatus, VenueKind
from vaxops.supply import services as supply_services
from vaxops.supply.models import CodeState, StockMovement, TraceCode
from vaxops.supply.tests.factories import network, receive

from .factories import mobile_team, staff

pytestmark = pytest.mark.django_db


def _tomorrow():
    return timezone.localdate() + dt.timedelta(days=1)


@pytest.fixture
def township(county):
    return Division.objects.get(code="330199001000")


@pytest.fixture
def team(township):
    return mobile_team(township)


def _at_employer(team, cdc, employer):
    return site_services.session_plan(
        actor=cdc,
        site=team,
        day=_tomorrow(),
        venue={"venue_kind": VenueKind.EMPLOYER, "venue_employer": employer, "venue_address": "物流园3号楼"},
    )


def _ready(session, cdc):
    for item in ReadinessItem.values:
        site_services.readiness_confirm(actor=cdc, session=session, item=item)


def test_a_mobile_session_at_an_employer_opens_with_two_combined_desks(team, cdc, employer):
    session = _at_employer(team, cdc, employer)
    assert session.venue_label == "清溪冷链物流公司（物流园3号楼）"
    assert session.desks == 1  # one desk vaccinates: 接种台+留观区
    reg = Desk.objects.get(site=team, kind="registration")
    vac = Desk.objects.get(site=team, kind="vaccination")
    assert str(reg) == "登记台+预检台1"
    for name, role, desk in (
        ("张登记", "registration", reg),
        ("李预检", "screening", reg),
        ("王接种", "vaccination", vac),
        ("赵留观", "observation", vac),
    ):
        site_services.assignment_add(
            actor=cdc, session=session, staff=staff(team, name, role), desk=desk, role=role
        )
    _ready(session, cdc)
    opened = site_services.session_open(actor=cdc, session=session)
    assert opened.status == SessionStatus.OPEN


def test_a_step_nobody_covers_keeps_the_session_closed(team, cdc, employer):
    session = _at_employer(team, cdc, employer)
    reg = Desk.objects.get(site=team, kind="registration")
    vac = Desk.objects.get(site=team, kind="vaccination")
    site_services.assignment_add(
        actor=cdc, session=session, staff=staff(team, "张登记", "registration"), desk=reg, role="registration"
    )
    site_services.assignment_add(
        actor=cdc, session=session, staff=staff(team, "李预检", "screening"), desk=reg, role="screening"
    )
    site_services.assignment_add(
        actor=cdc, session=session, staff=staff(team, "王接种", "vaccination"), desk=vac, role="vaccination"
    )
    _ready(session, cdc)
    with pytest.raises(ValidationFailed) as e:
        site_services.session_open(actor=cdc, session=session)
    assert e.value.code == SitesErrorCode.SESSION_NOT_READY
    assert "留观区" in e.value.message and "登记台" not in e.value.message


def test_a_combined_desk_takes_only_the_steps_it_serves(team, cdc, employer):
    session = _at_employer(team, cdc, employer)
    vac = Desk.objects.get(site=team, kind="vaccination")
    with pytest.raises(ValidationFailed) as e:
        site_services.assignment_add(
            actor=cdc, session=session, staff=staff(team, "李预检", "screening"), desk=vac, role="screening"
        )
    assert e.value.code == SitesErrorCode.STAFF_UNQUALIFIED
    assert "接种台+留观区" in e.value.message


def test_an_employer_venue_needs_the_employer(team, cdc):
    with pytest.raises(ValidationFailed) as e:
        site_services.session_plan(actor=cdc, site=team, day=_tomorrow(), venue={"venue_kind": "employer"})
    assert e.value.code == SitesErrorCode.VENUE_INVALID


def test_the_stock_goes_out_in_the_cold_box_and_comes_back(county, township, cdc, employer):
    store, town_a, _ = network(county)
    lot = receive(town_a, n=10)
    team = mobile_team(township, home=town_a)
    box = team.stock_place.units.get()
    session = _at_employer(team, cdc, employer)
    product = Product.objects.get(code="BBIBP-CorV")
    trip = services.team_stock_out(actor=cdc, session=session, product=product, doses=6, cold_box=box)
    per = product.doses_per_vial
    carried = TraceCode.objects.filter(place=team.stock_place, unit=box, state=CodeState.IN_STOCK).count()
    assert carried * per == trip.out.doses >= 6
    out_rows = StockMovement.objects.filter(reference=trip.out.number)
    assert {(m.place_id, m.kind) for m in out_rows} >= {
        (town_a.pk, "dispatch"),
        (team.stock_place.pk, "receipt_at_destination"),
    }
    # one vial broken at the employer: it does not come back
    used = TraceCode.objects.filter(place=team.stock_place).order_by("code").first()
    supply_services.code_waste(actor=cdc, code=used.code, place=team.stock_place, reason="broken")
    trip = services.team_stock_back(actor=cdc, trip=trip)
    assert trip.back.doses == (carried - 1) * per
    assert TraceCode.objects.filter(place=team.stock_place, state=CodeState.IN_STOCK).count() == 0
    assert TraceCode.objects.filter(place=town_a, lot=lot, state=CodeState.IN_STOCK).count() == 10 - 1
    with pytest.raises(ValidationFailed) as e:
        services.team_stock_back(actor=cdc, trip=trip)
    assert e.value.code == FieldErrorCode.TEAM_NOTHING_TO_RETURN


def test_a_fixed_site_carries_no_team_stock(county, cdc, employer, village_a1):
    from vaxops.booking.tests.factories import site

    fixed = site(village_a1)
    session = site_services.session_plan(actor=cdc, site=fixed, day=_tomorrow())
    with pytest.raises(ValidationFailed) as e:
        services.team_stock_out(
            actor=cdc, session=session, product=Product.objects.get(code="BBIBP-CorV"), doses=1, cold_box=None
        )
    assert e.value.code == FieldErrorCode.TEAM_NOT_MOBILE

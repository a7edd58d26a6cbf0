"""Two sites with stock places, a lot of BBIBP-CorV with a price, doses given at the desk (each with its
traceability code and the ledger's administration), and the roles of the settlement."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from vaxops.clinic.tests.conftest import *  # noqa: F403
from vaxops.clinic.tests.conftest import make_resident
from vaxops.conftest import _user
from vaxops.jurisdictions.models import Division

A1 = "330199001001"
_seq = itertools.count(100)


@pytest.fixture(autouse=True)
def first_rule(db):
    """The rule migration settlement/0002 loads (a transactional test's flush elsewhere may have emptied it)."""
    from vaxops.settlement.models import SettlementRule

    if not SettlementRule.objects.exists():
        SettlementRule.objects.create(
            effective_from=dt.date(2021, 1, 1),
            service_fee=Decimal("10.00"),
            subsidy_share=Decimal("0.3000"),
            cutover_date=dt.date(2021, 1, 1),
        )


@pytest.fixture
def places(county):
    from vaxops.sites.models import Site
    from vaxops.supply.models import StockPlace

    town_a = Division.objects.get(code="330199001000")
    town_b = Division.objects.get(code="330199002000")
    out = []
    for code, town in (("S-A", town_a), ("S-B", town_b)):
        place = StockPlace.objects.create(
            code=f"P-{code}", name=f"{town.name}门诊", kind="site", division=town
        )
        out.append(
            Site.objects.create(
                code=code, name=f"{town.name}卫生院接种门诊", division=town, stock_place=place
            )
        )
    return out


@pytest.fixture
def lot(db):
    from vaxops.catalog.models import Product
    from vaxops.supply.models import Lot

    return Lot.objects.create(
        product=Product.objects.get(code="BBIBP-CorV"), lot_number="L2026A", expiry=dt.date(2030, 1, 1)
    )


@pytest.fixture
def insurer(county):
    return _user("yibao", "medical_insurance", division=county)


@pytest.fixture
def finance(county):
    return _user("caizheng", "finance", division=county)


@pytest.fixture
def priced(lot, cdc):
    from vaxops.settlement import services

    services.vaccine_price_add(
        actor=cdc, product=lot.product, effective_from=dt.date(2021, 1, 1), price=Decimal("93.50")
    )
    return lot


def give(site, day, lot, *, ledger=True, code=True, external=False, person=None):
    """One dose at ``site`` on ``day`` from ``lot`` (a new person each time), with its code and ledger row."""
    from vaxops.clinic.models import Dose
    from vaxops.supply.models import StockMovement, TraceCode

    n = next(_seq)
    person = person or make_resident(A1, n, f"受种者{n}")
    tc = None
    if code:
        tc = TraceCode.objects.create(
            code=f"8{n:019d}",
            lot=lot,
            state="administered",
            place=site.stock_place,
            administered_to=person,
            administered_at=timezone.make_aware(dt.datetime.combine(day, dt.time(9, 30))),
        )
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(9, 30)))
    dose = Dose.objects.create(
        resident=person,
        product_code=lot.product.code,
        given_on=day,
        external=external,
        lot=None if external else lot,
        trace_code=tc,
        site=None if external else site,
        given_at=None if external else at,
    )
    if ledger and not external:
        m = StockMovement.objects.create(
            kind="administration", place=site.stock_place, lot=lot, doses=-1, code=tc, actor_label="desk"
        )
        StockMovement.objects.filter(pk=m.pk).update(at=at)
    return dose

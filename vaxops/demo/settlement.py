"""The demo county's settled months: the clinic's desk doses of the two months before this one (each through
the stock ledger), the prices (one changed mid-month) and a funding cut-over early in the first month; the
first month approved and paid, then one of its doses voided and another of its doses entered late, so the
second month — confirmed by the site, waiting for the medical-insurance office — carries both adjustment lines
(the void taken back, the late dose paid). Prices are illustrative."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from vaxops.catalog.models import Product
from vaxops.clinic.models import Dose
from vaxops.clinic.services import dose_void
from vaxops.core.actors import SystemActor
from vaxops.registry.models import Resident
from vaxops.settlement import domain, services
from vaxops.settlement.models import Settlement, SettlementRule, VaccinePrice
from vaxops.sites.models import Site
from vaxops.supply import services as supply
from vaxops.supply.models import StockMovement, StockPlace, TraceCode

PRICES = {
    "BBIBP-CorV": "93.50",
    "WIBP-CorV": "93.50",
    "CoronaVac": "93.50",
    "Convidecia": "98.00",
    "ZF2001": "96.00",
}
PER_MONTH = 18


def demo_settlement_build(*, today: dt.date) -> bool:
    """Build once; returns False when the demo has settlements already or the clinic has no stock."""
    if Settlement.objects.exists():
        return False
    site = Site.objects.filter(code="QX-S001").select_related("stock_place").first()
    if site is None or site.stock_place is None:
        return False
    actor = SystemActor("seed-demo")
    first = domain.month_bounds(today)[0]
    m2 = (first - dt.timedelta(days=1)).replace(day=1)
    m1 = (m2 - dt.timedelta(days=1)).replace(day=1)
    _restock(site=site, actor=actor)
    codes = list(
        TraceCode.objects.filter(place=site.stock_place, state="in_stock", lot__status="released")
        .select_related("lot__product")
        .order_by("code")[: 2 * PER_MONTH]
    )
    if len(codes) < 4:
        return False
    low, high = site.division.code_range
    people = list(
        Resident.objects.filter(
            village_code__gte=low, village_code__lte=high, birth_date__lte=dt.date(1990, 1, 1)
        )
        .exclude(doses__given_on__gte=m1)
        .order_by("-id")[: len(codes)]
    )
    with transaction.atomic():
        SettlementRule.objects.update_or_create(
            effective_from=m1,
            defaults={
                "service_fee": Decimal("10.00"),
                "subsidy_share": Decimal("0.3000"),
                "cutover_date": m1 + dt.timedelta(days=4),
                "note": "演示：本月5日前的接种由原资金渠道支付",
            },
        )
        for p in Product.objects.filter(code__in=PRICES):
            VaccinePrice.objects.get_or_create(
                product=p,
                effective_from=dt.date(2021, 1, 1),
                defaults={"price": Decimal(PRICES[p.code]), "note": "演示价格"},
            )
        bbibp = Product.objects.filter(code="BBIBP-CorV").first()
        if bbibp is not None:
            VaccinePrice.objects.get_or_create(
                product=bbibp,
                effective_from=m2 + dt.timedelta(days=15),
                defaults={"price": Decimal("88.00"), "note": "演示：议定价格下调"},
            )
        doses = []
        pairs = list(zip(codes, people, strict=False))
        late = pairs.pop() if len(pairs) > 4 else None  # recorded after the first month was approved
        half = len(pairs) // 2
        for i, (tc, person) in enumerate(pairs):
            month, j = (m1, i) if i < half else (m2, i - half)
            day = month + dt.timedelta(days=j * 27 // max(1, len(pairs) - half - 1))
            at = timezone.make_aware(dt.datetime.combine(day, dt.time(9, 0))) + dt.timedelta(minutes=7 * i)
            supply.code_administer(actor=actor, code=tc, resident=person, place=site.stock_place, at=at)
            # the ledger row dated when the dose was given (the desk writes both at that moment)
            StockMovement.objects.filter(code=tc, kind="administration").update(at=at)
            doses.append(_booster(site=site, person=person, tc=tc, day=day, at=at))
    [first_month] = services.settlement_run(actor=actor, month=m1, site=site)
    services.settlement_confirm(actor=actor, settlement=first_month)
    services.settlement_approve(actor=actor, settlement=first_month)
    services.settlement_pay(
        actor=actor, settlement=first_month, paid_on=m2 + dt.timedelta(days=9), reference=f"YB{m1:%Y%m}-001"
    )
    dose_void(actor=actor, dose_id=doses[2].pk, reason="演示：重复登记，结算后作废", disposition="wasted")
    if late is not None:
        _late_dose(
            site=site,
            actor=actor,
            pair=late,
            day=m1 + dt.timedelta(days=20),
            recorded=m2 + dt.timedelta(days=10),
        )
    [second] = services.settlement_run(actor=actor, month=m2, site=site)
    services.settlement_confirm(actor=actor, settlement=second)
    return True


def _late_dose(*, site: Site, actor, pair, day: dt.date, recorded: dt.date) -> None:
    """A dose of the first month entered after that month was approved (a paper register found late): the
    ledger records it when it is entered, and the second month pays it in a late line."""
    tc, person = pair
    given = timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))
    with transaction.atomic():
        supply.code_administer(actor=actor, code=tc, resident=person, place=site.stock_place, at=given)
        StockMovement.objects.filter(code=tc, kind="administration").update(
            at=timezone.make_aware(dt.datetime.combine(recorded, dt.time(15, 0)))
        )
        _booster(site=site, person=person, tc=tc, day=day, at=given)


def _restock(*, site: Site, actor) -> None:
    """Codes enough for the two months at the clinic: a shipment from the county store when it has too few."""
    have = TraceCode.objects.filter(place=site.stock_place, state="in_stock", lot__status="released").count()
    store = StockPlace.objects.filter(code="QX-CDC").first()
    product = Product.objects.filter(code="BBIBP-CorV").first()
    if have >= 2 * PER_MONTH or store is None or product is None:
        return
    d = supply.dispatch_create(
        actor=actor, from_place=store, to_place=site.stock_place, product=product, doses=2 * PER_MONTH - have
    )
    supply.dispatch_receive(actor=actor, dispatch=d)


def _booster(*, site: Site, person, tc, day: dt.date, at: dt.datetime) -> Dose:
    """The demo's booster dose at ``site`` with code ``tc`` (its administration is already on the ledger)."""
    return Dose.objects.create(
        resident=person,
        product_code=tc.lot.product.code,
        given_on=day,
        place=site.name,
        lot=tc.lot,
        trace_code=tc,
        site=site,
        given_at=at,
        dose_number=3,
        is_booster=True,
    )

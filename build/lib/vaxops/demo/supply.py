"""The demo county's supply chain: a county CDC cold room, ten township stores and one vaccination clinic,
lots of every catalogue product received through the receipt-file path, one approved allocation with its
dispatches (most received, one with a shortage, one still on the road), a held lot and a morning's doses
at the clinic — so every supply page has something true to show. Idempotent: it does nothing when the
county store exists."""

from datetime import date, timedelta

from django.db import transaction

from vaxops.catalog.models import Product, TracePrefix
from vaxops.core import clock
from vaxops.core.actors import SystemActor
from vaxops.jurisdictions.models import Division
from vaxops.registry.models import Resident
from vaxops.registry.tables import aliases_for, table_from_dicts
from vaxops.supply import services
from vaxops.supply.models import (
    ColdChainUnit,
    Dispatch,
    DispatchStatus,
    Lot,
    PlaceKind,
    StockPlace,
    TraceCode,
)
from vaxops.supply.tables import COLUMNS

COUNTY_STORE = "QX-CDC"
CODES_PER_LOT = {"BBIBP-CorV": 3000, "CoronaVac": 1500, "WIBP-CorV": 1000, "Convidecia": 500, "ZF2001": 500}


def _code(prefix: str, serial: int) -> str:
    return f"{prefix}{serial:09d}{serial * 7 % 10000:04d}"


def demo_supply_build(*, county_code: str, today: date) -> bool:
    """Build the demo supply chain once; returns False when it was already there."""
    if StockPlace.objects.filter(code=COUNTY_STORE).exists():
        return False
    actor = SystemActor("seed-demo")
    with transaction.atomic():
        county = Division.objects.get(code=county_code.ljust(12, "0"))
        store = StockPlace.objects.create(
            code=COUNTY_STORE, name="清溪县疾控中心冷库", kind=PlaceKind.COUNTY_STORE, division=county
        )
        ColdChainUnit.objects.create(
            place=store, kind="cold_room", name="1号冷库", usable_volume_cm3=4_000_000
        )
        towns = []
        for i, township in enumerate(Division.objects.filter(parent=county).order_by("code")):
            place = StockPlace.objects.create(
                code=f"QX-T{township.code[6:9]}",
                name=f"{township.name}冷库",
                kind=PlaceKind.TOWNSHIP_STORE,
                division=township,
                parent=store,
                risk_index=(1, 2, 1, 3, 1, 1, 2, 1, 1, 2)[i % 10],
                density_index=(2, 1, 1, 2, 1, 3, 1, 1, 2, 1)[i % 10],
                mobility_index=(1, 1, 2, 2, 1, 1, 3, 1, 1, 1)[i % 10],
            )
            ColdChainUnit.objects.create(
                place=place, kind="refrigerator", name="医用冰箱", usable_volume_cm3=60_000
            )
            ColdChainUnit.objects.create(place=place, kind="cold_box", name="冷藏箱", usable_volume_cm3=8_000)
            towns.append(place)
        first_town = towns[0]
        clinic = StockPlace.objects.create(
            code="QX-S001",
            name=f"{first_town.division.name}卫生院接种门诊",
            kind=PlaceKind.SITE,
            division=first_town.division,
            parent=first_town,
        )
        ColdChainUnit.objects.create(
            place=clinic, kind="refrigerator", name="接种台冰箱", usable_volume_cm3=20_000
        )

    # Two lots of every product with a traceability prefix: one expiring within the alert window.
    rows = []
    serial = 1
    for product in Product.objects.order_by("sort", "code"):
        prefix = TracePrefix.objects.filter(product=product).values_list("prefix", flat=True).first()
        n = CODES_PER_LOT.get(product.code)
        if not prefix or not n:
            continue
        for k, expiry in ((1, today + timedelta(days=20)), (2, today + timedelta(days=300))):
            lot_number = f"{today:%Y%m}{product.code[:2].upper()}{k:02d}"
            for _ in range(n):
                rows.append(
                    {
                        "追溯码": _code(prefix, serial),
                        "批号": lot_number,
                        "疫苗品种": product.code,
                        "有效期至": expiry.isoformat(),
                    }
                )
                serial += 1
    table = table_from_dicts(["追溯码", "批号", "疫苗品种", "有效期至"], rows, aliases=aliases_for(COLUMNS))
    services.codes_import(table=table, actor=actor, place=store, filename="demo-receipt.csv")
    for lot in Lot.objects.select_related("product"):
        Lot.objects.filter(pk=lot.pk).update(release_certificate=f"SJ{today:%Y}{lot.pk:05d}")

    bbibp = Product.objects.get(code="BBIBP-CorV")
    run = services.allocation_propose(
        actor=actor,
        product=bbibp,
        doses_arriving=3000,
        source=store,
        weights={"risk": "0.5", "density": "0.3", "mobility": "0.2"},
    )
    dispatches = services.allocation_approve(actor=actor, run=run)
    for i, d in enumerate(dispatches):
        if i == len(dispatches) - 1:
            continue  # still on the road
        if i == 1:
            codes = list(TraceCode.objects.filter(dispatch=d).order_by("code").values_list("code", flat=True))
            services.dispatch_receive(
                actor=actor, dispatch=d, scanned=codes[:-2], note="少两支，已电话告知县疾控"
            )
        else:
            services.dispatch_receive(actor=actor, dispatch=d)

    received = Dispatch.objects.filter(to_place=first_town, status=DispatchStatus.RECEIVED).first()
    if received is not None:
        to_clinic = services.dispatch_create(
            actor=actor, from_place=first_town, to_place=clinic, product=bbibp, doses=min(100, received.doses)
        )
        services.dispatch_receive(actor=actor, dispatch=to_clinic)
        _morning_session(clinic=clinic, product=bbibp, today=today, actor=actor)

    corona = Lot.objects.filter(product__code="CoronaVac").order_by("-expiry").first()
    if corona is not None:
        services.lot_status_change(
            actor=actor, lot=corona, status="on_hold", reason="运输途中冷链温度记录异常，待评估"
        )
    return True


def _morning_session(*, clinic: StockPlace, product: Product, today: date, actor) -> None:
    """Thirty doses given at the clinic over the last two hours to adults of its township with a dose history."""
    from vaxops.campaign.services import status_refresh
    from vaxops.clinic.models import Dose

    low, high = clinic.division.code_range
    people = list(
        Resident.objects.filter(
            village_code__gte=low,
            village_code__lte=high,
            birth_date__lte=date(1990, 1, 1),
            doses__isnull=False,
        )
        .distinct()
        .order_by("id")[:30]
    )
    codes = list(
        TraceCode.objects.filter(place=clinic, state="in_stock")
        .order_by("code")
        .values_list("code", flat=True)[: len(people)]
    )
    start = clock.now() - timedelta(minutes=4 * len(people) + 5)
    for i, (person, code) in enumerate(zip(people, codes, strict=False)):
        with transaction.atomic():
            services.code_administer(
                actor=actor, code=code, resident=person, place=clinic, at=start + timedelta(minutes=4 * i)
            )
            Dose.objects.create(resident=person, product_code=product.code, given_on=today, place=clinic.name)
    status_refresh(resident_ids=[p.pk for p in people])

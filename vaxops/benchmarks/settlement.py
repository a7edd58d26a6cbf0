"""Monthly settlement benchmark (for ``vaxops bench settlement``): one month of desk doses over many sites
settled — every line computed and stored — beside the raw database summing the same doses.

``settlement_bench(doses=1_000_000, sites=200)`` builds (untimed, once per size) ``sites`` sites with stock
places, 20 lots of the catalogue's products with their prices (one product's price changes mid-month, one lot
has a contract price), ``doses`` standing desk doses of March 2025 given to ``doses / 20`` people (one dose a
day each), and the stock ledger's administration of each; then times:

* ``settle_s`` — ``services.settlement_run`` for the month from nothing: the settlements, every line (one
  ``INSERT … SELECT``), the adjustments, the totals and the reconciliation with the ledger;
* ``resettle_s`` — the same run again (the drafts recomputed: their lines deleted and written anew);
* ``raw_sum_s`` — the raw database summing the same doses per site with the same prices (one grouped
  ``SELECT``, nothing written).

Target (issue 16): ``settle_s`` < 30 s at 1,000,000 doses over 200 sites.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from decimal import Decimal

from django.db import connection

from vaxops.benchmarks.supply import _bulk_insert, _county, _environment, _trace_residents
from vaxops.catalog.models import Product
from vaxops.clinic.models import Dose
from vaxops.core import clock
from vaxops.core.actors import SystemActor
from vaxops.jurisdictions.models import Division, Level
from vaxops.settlement import domain, services
from vaxops.settlement.models import LotPrice, Settlement, SettlementRule, VaccinePrice
from vaxops.sites.models import Site
from vaxops.supply.models import Lot, StockMovement, StockPlace

Log = Callable[[str], None]
MONTH = dt.date(2025, 3, 1)
PLACE = "结算基准"
PER_PERSON = 20  # doses per person in the month, one a day


def _dose_columns() -> tuple[list[str], dict]:
    fields = [f for f in Dose._meta.concrete_fields if f.column != "id"]
    defaults = {}
    for f in fields:
        d = f.get_default()
        defaults[f.column] = d if d is not None or f.null else ""
    return [f.column for f in fields], defaults


def _build(doses: int, n_sites: int, log: Log) -> None:
    county = _county()
    township = Division.objects.filter(code__startswith=county.code[:6], level=Level.TOWNSHIP).order_by(
        "code"
    )[0]
    sites = list(Site.objects.filter(code__startswith="BST").order_by("code"))
    for i in range(len(sites), n_sites):
        place = StockPlace.objects.get_or_create(
            code=f"BST{i:03d}", defaults={"name": f"结算基准点{i}", "kind": "site", "division": township}
        )[0]
        sites.append(
            Site.objects.create(
                code=f"BST{i:03d}", name=f"结算基准点{i}", division=township, stock_place=place
            )
        )
    sites = sites[:n_sites]
    products = list(Product.objects.order_by("code"))
    if not products:
        raise RuntimeError("no products: run migrate (the catalogue) first")
    lots = [
        Lot.objects.get_or_create(
            lot_number=f"BSTL{i:02d}",
            product=products[i % len(products)],
            defaults={"expiry": dt.date(2030, 1, 1)},
        )[0]
        for i in range(20)
    ]
    if not SettlementRule.objects.filter(effective_from__lte=MONTH).exists():
        SettlementRule.objects.create(
            effective_from=dt.date(2021, 1, 1),
            service_fee=Decimal("10.00"),
            subsidy_share=Decimal("0.3000"),
            cutover_date=dt.date(2021, 1, 1),
        )
    for k, p in enumerate(products):
        VaccinePrice.objects.get_or_create(
            product=p, effective_from=dt.date(2021, 1, 1), defaults={"price": Decimal("90.00") + k}
        )
    VaccinePrice.objects.get_or_create(
        product=products[0], effective_from=MONTH.replace(day=16), defaults={"price": Decimal("85.50")}
    )
    LotPrice.objects.get_or_create(
        lot=lots[1], effective_from=dt.date(2021, 1, 1), defaults={"price": Decimal("70.00")}
    )
    _, last = domain.month_bounds(MONTH)
    have = Dose.objects.filter(place=PLACE, given_on__gte=MONTH, given_on__lte=last).count()
    if have < doses:
        villages = list(
            Division.objects.filter(code__startswith=county.code[:6], level=Level.VILLAGE)
            .order_by("code")
            .values_list("id", "code")
        )
        t0 = time.perf_counter()
        people = _trace_residents(max(1, doses // PER_PERSON + 1), villages)
        log(f"  {len(people):,} people in {time.perf_counter() - t0:.1f} s")
        columns, defaults = _dose_columns()
        codes = {lt.pk: lt.product.code for lt in lots}
        pg = connection.vendor == "postgresql"
        now = clock.now()
        rows = []
        t0 = time.perf_counter()
        for i in range(have, doses):
            person = people[i // PER_PERSON]
            day = MONTH + dt.timedelta(days=i % PER_PERSON + (i // PER_PERSON) % 11)
            lot = lots[(i * 7) % len(lots)]
            values = dict(defaults)
            values.update(
                resident_id=person,
                product_code=codes[lot.pk],
                given_on=day if pg else day.isoformat(),
                place=PLACE,
                external=False,
                recorded_at=now if pg else connection.ops.adapt_datetimefield_value(now),
                lot_id=lot.pk,
                site_id=sites[i % len(sites)].pk,
                client_id=None,
            )
            rows.append(tuple(values[c] for c in columns))
            if len(rows) == 200_000:
                _bulk_insert("clinic_dose", tuple(columns), rows)
                rows = []
        if rows:
            _bulk_insert("clinic_dose", tuple(columns), rows)
        log(f"  {doses - have:,} doses in {time.perf_counter() - t0:.1f} s")
        # The ledger's administration of each dose (10:00 local time on its day).
        t0 = time.perf_counter()
        at = "d.given_on + interval '2 hours'" if pg else "d.given_on || ' 02:00:00'"
        with connection.cursor() as c:
            c.execute(
                "INSERT INTO supply_stockmovement (kind, place_id, lot_id, doses, reference, actor_label, at, reason) "  # noqa: S608
                f"SELECT 'administration', s.stock_place_id, d.lot_id, -1, '', 'bench', {at}, '' "
                "FROM clinic_dose d JOIN sites_site s ON s.id = d.site_id "
                "WHERE d.place = %s AND d.given_on BETWEEN %s AND %s AND d.id > %s",
                [PLACE, MONTH, last, _last_movement_dose()],
            )
        log(f"  the ledger's administrations in {time.perf_counter() - t0:.1f} s")
    if connection.vendor == "postgresql":
        with connection.cursor() as c:
            c.execute("ANALYZE clinic_dose")
            c.execute("ANALYZE supply_stockmovement")


def _last_movement_dose() -> int:
    """Doses already on the bench's ledger are those up to the highest dose id written before (none: 0)."""
    if not StockMovement.objects.filter(actor_label="bench").exists():
        return 0
    _, last = domain.month_bounds(MONTH)
    n = StockMovement.objects.filter(actor_label="bench").count()
    ids = Dose.objects.filter(place=PLACE, given_on__gte=MONTH, given_on__lte=last).order_by("id")
    row = ids.values_list("id", flat=True)[n - 1 : n]
    return row[0] if row else 0


def _raw_sum(n_sites: list[int]) -> tuple[int, Decimal]:
    first, last = domain.month_bounds(MONTH)
    price_sql, price_params = services._price_case(first, last)
    marks = ", ".join(["%s"] * len(n_sites))
    with connection.cursor() as c:
        c.execute(
            f"SELECT d.site_id, COUNT(*), SUM({price_sql} + 10) FROM clinic_dose d "  # noqa: S608
            f"WHERE d.given_on BETWEEN %s AND %s AND d.external = %s AND d.voided_at IS NULL "
            f"AND d.site_id IN ({marks}) GROUP BY d.site_id",
            [*price_params, first, last, False, *n_sites],
        )
        rows = c.fetchall()
    return sum(r[1] for r in rows), sum((Decimal(str(r[2])) for r in rows), Decimal(0))


def settlement_bench(*, doses: int = 1_000_000, sites: int = 200, log: Log = lambda s: None) -> dict:
    t0 = time.perf_counter()
    _build(doses, sites, log)
    build_s = time.perf_counter() - t0
    site_ids = list(
        Site.objects.filter(code__startswith="BST").order_by("code").values_list("pk", flat=True)
    )[:sites]
    # From nothing: the month's bench settlements go (untimed).
    Settlement.objects.filter(month=MONTH, site_id__in=site_ids).delete()
    actor = SystemActor("bench")
    t0 = time.perf_counter()
    rows = services.settlement_run(actor=actor, month=MONTH)
    settle_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    services.settlement_run(actor=actor, month=MONTH)
    resettle_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    raw_doses, raw_amount = _raw_sum(site_ids)
    raw_s = time.perf_counter() - t0
    ours = [s for s in Settlement.objects.filter(month=MONTH, site_id__in=site_ids)]
    settled = sum(s.doses for s in ours)
    payable = sum((s.payable for s in ours), Decimal(0))
    return {
        **_environment(),
        "month": f"{MONTH:%Y-%m}",
        "doses": doses,
        "sites": len(ours),
        "settlements_written": len(rows),
        "lines_settled": settled,
        "payable_yuan": str(payable),
        "raw_doses": raw_doses,
        "same_as_raw": settled == raw_doses and payable == domain.yuan(raw_amount),
        "reconciled_sites": sum(1 for s in ours if s.reconciled),
        "build_s": round(build_s, 1),
        "settle_s": round(settle_s, 2),
        "resettle_s": round(resettle_s, 2),
        "raw_sum_s": round(raw_s, 2),
        "settle_vs_raw": round(settle_s / raw_s, 1) if raw_s else None,
    }

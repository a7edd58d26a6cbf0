# ruff: noqa: S608  (the SQL below is built from fixed fragments and %s placeholders; every value is a parameter)
"""Writing the settlement: the county's rule versions and prices, the monthly run, and the status flow.

``settlement_run`` computes a month in set-based SQL that runs on SQLite and PostgreSQL alike: one
``INSERT … SELECT`` writes every dose line of every site being settled (the prices in force on each dose's day
are a ``CASE`` over the month's rule segments, a handful of branches), one more writes the adjustment lines
(doses voided after their month was settled), and one grouped ``SELECT`` gives each settlement its totals.
Python touches only the per-site totals, never a dose.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxops.accounts.scope import require
from vaxops.audit.services import audit_record
from vaxops.core import clock
from vaxops.core.errors import NotFound, PermissionDenied, ValidationFailed
from vaxops.sites.models import Site
from vaxops.sites.selectors import site_in_scope

from . import domain
from .errors import SettlementErrorCode as E
from .models import LineKind, LotPrice, Settlement, SettlementLine, SettlementRule, Status, VaccinePrice

# --------------------------------------------------------------------------------------------------
# Rule versions: a new version never reaches into a month already settled
# --------------------------------------------------------------------------------------------------


def settled_through() -> dt.date | None:
    """The last day of the latest month that has a settlement past draft (``None``: nothing settled yet)."""
    latest = (
        Settlement.objects.exclude(status=Status.DRAFT)
        .order_by("-month")
        .values_list("month", flat=True)
        .first()
    )
    return None if latest is None else domain.month_bounds(latest)[1]


def version_guard(effective_from: dt.date, *, what: str) -> None:
    """Refuse a version (new, changed or removed) that takes effect in or before a settled month."""
    through = settled_through()
    if through is not None and effective_from <= through:
        raise ValidationFailed(
            _("%(what)s的生效日期%(day)s落在已结算月份内（已结算至%(through)s），请使用之后的日期")
            % {"what": what, "day": effective_from.isoformat(), "through": through.isoformat()},
            field="effective_from",
            code=E.VERSION_SETTLED,
        )


def _money_in(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        amount = Decimal(-1)
    if not amount.is_finite() or amount < 0 or amount != domain.yuan(amount):
        raise ValidationFailed(
            _("%(field)s须为不小于0、最多两位小数的金额（元）") % {"field": field},
            field=field,
            code=E.PRICE_INVALID,
        )
    return amount


@transaction.atomic
def rule_add(
    *, actor, effective_from: dt.date, service_fee, subsidy_share, cutover_date: dt.date, note: str = ""
) -> SettlementRule:
    require(actor, "settlement.add_settlementrule")
    version_guard(effective_from, what=_("结算规则"))
    fee = _money_in(service_fee, "service_fee")
    share = Decimal(str(subsidy_share))
    if not (0 <= share <= 1):
        raise ValidationFailed(_("县财政补助比例须在0到1之间"), field="subsidy_share", code=E.PRICE_INVALID)
    rule, _created = SettlementRule.objects.update_or_create(
        effective_from=effective_from,
        defaults={"service_fee": fee, "subsidy_share": share, "cutover_date": cutover_date, "note": note},
    )
    audit_record(
        actor=actor,
        action="settlement.rule_add",
        obj=rule,
        new={
            "effective_from": effective_from.isoformat(),
            "service_fee": str(fee),
            "subsidy_share": str(share),
            "cutover_date": cutover_date.isoformat(),
        },
    )
    return rule


@transaction.atomic
def vaccine_price_add(*, actor, product, effective_from: dt.date, price, note: str = "") -> VaccinePrice:
    require(actor, "settlement.add_vaccineprice")
    version_guard(effective_from, what=_("疫苗价格"))
    amount = _money_in(price, "price")
    row, _created = VaccinePrice.objects.update_or_create(
        product=product, effective_from=effective_from, defaults={"price": amount, "note": note}
    )
    audit_record(
        actor=actor,
        action="settlement.vaccine_price_add",
        obj=row,
        new={"product": product.code, "effective_from": effective_from.isoformat(), "price": str(amount)},
    )
    return row


@transaction.atomic
def lot_price_add(*, actor, lot, effective_from: dt.date, price, note: str = "") -> LotPrice:
    require(actor, "settlement.add_lotprice")
    version_guard(effective_from, what=_("批号合同价格"))
    amount = _money_in(price, "price")
    row, _created = LotPrice.objects.update_or_create(
        lot=lot, effective_from=effective_from, defaults={"price": amount, "note": note}
    )
    audit_record(
        actor=actor,
        action="settlement.lot_price_add",
        obj=row,
        new={"lot": lot.lot_number, "effective_from": effective_from.isoformat(), "price": str(amount)},
    )
    return row


# --------------------------------------------------------------------------------------------------
# The monthly run
# --------------------------------------------------------------------------------------------------


def _rule_versions() -> list[domain.Version[domain.Rule]]:
    return [
        domain.Version(r.effective_from, domain.Rule(r.service_fee, r.subsidy_share, r.cutover_date))
        for r in SettlementRule.objects.all()
    ]


def _price_case(first: dt.date, last: dt.date) -> tuple[str, list]:
    """The SQL ``CASE`` giving a dose (``d``) its vaccine price on its day: the lot's contract price where one
    is in force, else the product's; NULL where neither is."""
    branches: list[str] = []
    params: list = []
    by_lot, by_product = _price_versions()
    for lot_id, versions in sorted(by_lot.items()):
        for seg in domain.segments(versions, first, last):
            branches.append("WHEN d.lot_id = %s AND d.given_on BETWEEN %s AND %s THEN %s")
            params += [lot_id, seg.start, seg.end, seg.value]
    for code, versions in sorted(by_product.items()):
        for seg in domain.segments(versions, first, last):
            branches.append("WHEN d.product_code = %s AND d.given_on BETWEEN %s AND %s THEN %s")
            params += [code, seg.start, seg.end, seg.value]
    if not branches:
        return "CAST(NULL AS NUMERIC)", []
    return "CASE " + " ".join(branches) + " END", params


def _rule_cases(segs: list[domain.Segment[domain.Rule]]) -> tuple[str, list, str, list]:
    """The SQL for a dose's service fee and its channel (``old`` before the cut-over in force on its day)."""
    fee, fee_params, chan, chan_params = [], [], [], []
    for s in segs:
        fee.append("WHEN d.given_on BETWEEN %s AND %s THEN %s")
        fee_params += [s.start, s.end, s.value.service_fee]
        chan.append("WHEN d.given_on BETWEEN %s AND %s AND d.given_on < %s THEN 'old'")
        chan_params += [s.start, s.end, s.value.cutover]
    return (
        "CASE " + " ".join(fee) + " END",
        fee_params,
        "CASE " + " ".join(chan) + " ELSE 'fund' END",
        chan_params,
    )


# The desk's doses of the month at the sites being settled (never a dose from elsewhere, never a voided one).
_DOSES = """
FROM clinic_dose d
JOIN settlement_settlement s ON s.site_id = d.site_id AND s.month = %s AND s.id IN ({ids}) AND s.status = 'draft'
WHERE d.given_on BETWEEN %s AND %s AND d.external = %s AND d.voided_at IS NULL
"""
_MASK = "COALESCE(SUBSTR(t.code, 1, 4) || '****' || SUBSTR(t.code, LENGTH(t.code) - 3, 4), '')"


def _month_work(
    first: dt.date, last: dt.date
) -> tuple[list[int], list[tuple[int, str, int | None, dt.date]]]:
    """Sites with desk doses in the month, a dose voided since the statement paying it was approved, or a dose
    recorded after its month was settled; and, from the month's scan, each (site, product, lot) of the month
    with its first day (a price in force on that day covers the rest of the month: a version, once in force,
    stays until the next)."""
    with connection.cursor() as c:
        c.execute(
            "SELECT site_id, product_code, lot_id, MIN(given_on) FROM clinic_dose WHERE given_on BETWEEN %s AND %s "
            "AND external = %s AND voided_at IS NULL AND site_id IS NOT NULL GROUP BY site_id, product_code, lot_id",
            [first, last, False],
        )
        combos = [(r[0], r[1], r[2], _as_date(r[3])) for r in c.fetchall()]
    ids = {r[0] for r in combos}
    ids |= {site_id for _line, site_id in _voids_to_take_back(first)}
    ids |= {row[1] for row in _late_doses(first)}
    return sorted(ids), combos


# Whether a statement is frozen (approved or paid): only then does a later change become an adjustment line; a
# draft or a confirmed statement is recomputed (a confirmed one after the office sends it back).
_FROZEN_SQL = "('approved', 'paid')"


def _month_of(column: str) -> str:
    """SQL: the first day of the month of the date ``column`` (as ``Settlement.month`` stores it)."""
    if connection.vendor == "postgresql":
        return f"CAST(DATE_TRUNC('month', {column}) AS DATE)"
    return f"STRFTIME('%%Y-%%m-01', {column})"


def _a_day_before(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"{column} - INTERVAL '1 day'"
    return f"STRFTIME('%%Y-%%m-%%d %%H:%%M:%%f', {column}, '-1 day')"


def _not_elsewhere(kind: str) -> str:
    """SQL: the dose ``d`` has no line of ``kind`` but in one of the month's drafts (those are recomputed)."""
    return (
        "NOT EXISTS (SELECT 1 FROM settlement_settlementline x JOIN settlement_settlement xs "
        f"ON xs.id = x.settlement_id WHERE x.dose_id = d.id AND x.kind = '{kind}' "
        "AND NOT (xs.month = %s AND xs.status = 'draft'))"
    )


def _voids_to_take_back(first: dt.date) -> list[tuple[int, int]]:
    """(line, site) of each line of a frozen statement before ``first`` — a dose of its month or a late one —
    whose dose has since been voided and is not yet taken back. Read from the voided doses (few) to their
    statement by site and month, so neither the lines nor a settled month are scanned."""
    with connection.cursor() as c:
        c.execute(
            "SELECT l.id, o.site_id FROM clinic_dose d "
            "JOIN settlement_settlement o ON o.site_id = d.site_id "
            f"AND o.month = {_month_of('d.given_on')} AND o.status IN {_FROZEN_SQL} AND o.month < %s "
            "JOIN settlement_settlementline l ON l.settlement_id = o.id AND l.dose_id = d.id AND l.kind = 'dose' "
            f"WHERE d.voided_at IS NOT NULL AND d.site_id IS NOT NULL AND {_not_elsewhere('adjustment')} "
            "UNION ALL "
            "SELECT l.id, o.site_id FROM clinic_dose d "
            "JOIN settlement_settlementline l ON l.dose_id = d.id AND l.kind = 'late' "
            f"JOIN settlement_settlement o ON o.id = l.settlement_id AND o.status IN {_FROZEN_SQL} AND o.month < %s "
            f"WHERE d.voided_at IS NOT NULL AND {_not_elsewhere('adjustment')}",
            [first, first, first, first],
        )
        return [(r[0], r[1]) for r in c.fetchall()]


def _late_doses(first: dt.date) -> list[tuple]:
    """Standing desk doses of a month before ``first`` whose site's statement of that month is frozen and does
    not pay them (recorded after it was computed), not yet paid late: (dose, site, day, product, lot, code).
    Only doses recorded from a day before the statement's computation on are looked at (a day's margin for a
    recording still uncommitted then, or a clock apart), so the months settled are never rescanned whole."""
    with connection.cursor() as c:
        c.execute(
            "SELECT d.id, d.site_id, d.given_on, d.product_code, d.lot_id, t.code FROM clinic_dose d "
            "JOIN settlement_settlement o ON o.site_id = d.site_id "
            f"AND o.month = {_month_of('d.given_on')} AND o.status IN {_FROZEN_SQL} AND o.month < %s "
            "LEFT JOIN supply_tracecode t ON t.id = d.trace_code_id "
            "WHERE d.voided_at IS NULL AND d.external = %s AND d.site_id IS NOT NULL AND d.given_on < %s "
            f"AND d.recorded_at >= {_a_day_before('o.computed_at')} "
            "AND NOT EXISTS (SELECT 1 FROM settlement_settlementline p WHERE p.settlement_id = o.id "
            f"AND p.dose_id = d.id AND p.kind = 'dose') AND {_not_elsewhere('late')} "
            "ORDER BY d.given_on, d.id",
            [first, False, first, first],
        )
        return [(r[0], r[1], _as_date(r[2]), r[3], r[4], r[5] or "") for r in c.fetchall()]


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _price_versions() -> tuple[dict[int, list], dict[str, list]]:
    by_lot: dict[int, list[domain.Version[Decimal]]] = {}
    for lot_id, day, price in LotPrice.objects.values_list("lot_id", "effective_from", "price"):
        by_lot.setdefault(lot_id, []).append(domain.Version(day, price))
    by_product: dict[str, list[domain.Version[Decimal]]] = {}
    for code, day, price in VaccinePrice.objects.values_list("product__code", "effective_from", "price"):
        by_product.setdefault(code, []).append(domain.Version(day, price))
    return by_lot, by_product


def _missing_price(combos, site_ids: set[int]) -> None:
    """Refuse the month when a dose's product (or lot) has no price in force on its day, naming it."""
    by_lot, by_product = _price_versions()
    for site_id, product, lot_id, day in sorted(combos, key=lambda r: (r[1], r[3])):
        if site_id not in site_ids:
            continue
        if (
            domain.in_force(by_lot.get(lot_id, ()), day) is None
            and domain.in_force(by_product.get(product, ()), day) is None
        ):
            raise ValidationFailed(
                _("疫苗%(product)s在%(day)s没有生效的议定价格，请先录入价格")
                % {"product": product, "day": day.isoformat()},
                field="price",
                code=E.PRICE_MISSING,
            )


def _local_midnight_utc(day: dt.date):
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _reconcile(drafts: list[Settlement], first: dt.date, last: dt.date) -> dict[int, tuple[bool, list]]:
    """Per draft: the stock ledger's administrations at the site's stock place in the month, per lot, against
    the settled lines (the month's doses and the late ones: the ledger records a dose when it is recorded) and
    the month's voided doses that had used a code."""
    from vaxops.supply.models import Lot

    ids = [s.pk for s in drafts]
    marks = ", ".join(["%s"] * len(ids))
    places = {s.site.stock_place_id: s.pk for s in drafts if s.site.stock_place_id}
    counts: dict[int, dict[int | None, list[int]]] = {s.pk: {} for s in drafts}
    start = connection.ops.adapt_datetimefield_value(_local_midnight_utc(first))
    end = connection.ops.adapt_datetimefield_value(_local_midnight_utc(last + dt.timedelta(days=1)))
    with connection.cursor() as c:
        if places:
            pm = ", ".join(["%s"] * len(places))
            c.execute(
                f"SELECT place_id, lot_id, COUNT(*) FROM supply_stockmovement WHERE kind = 'administration' "
                f"AND at >= %s AND at < %s AND place_id IN ({pm}) GROUP BY place_id, lot_id",
                [start, end, *places],
            )
            for place_id, lot_id, n in c.fetchall():
                counts[places[place_id]].setdefault(lot_id, [0, 0, 0])[0] += n
        c.execute(
            f"SELECT settlement_id, lot_id, COUNT(*) FROM settlement_settlementline "
            f"WHERE settlement_id IN ({marks}) AND kind IN ('dose', 'late') GROUP BY settlement_id, lot_id",
            ids,
        )
        for sid, lot_id, n in c.fetchall():
            counts[sid].setdefault(lot_id, [0, 0, 0])[1] += n
        c.execute(
            f"SELECT s.id, d.lot_id, COUNT(*) FROM clinic_dose d JOIN settlement_settlement s "
            f"ON s.site_id = d.site_id AND s.id IN ({marks}) "
            f"WHERE d.given_on BETWEEN %s AND %s AND d.external = %s AND d.voided_at IS NOT NULL "
            f"AND d.trace_code_id IS NOT NULL GROUP BY s.id, d.lot_id",
            [*ids, first, last, False],
        )
        for sid, lot_id, n in c.fetchall():
            counts[sid].setdefault(lot_id, [0, 0, 0])[2] += n
    lot_ids = {lot for per in counts.values() for lot in per if lot is not None}
    numbers = dict(Lot.objects.filter(pk__in=lot_ids).values_list("pk", "lot_number"))
    out = {}
    for sid, per in counts.items():
        ok, rows = domain.reconcile(
            domain.LotCount(numbers.get(lot, "—") if lot else "—", *n) for lot, n in per.items()
        )
        out[sid] = (
            ok,
            [
                {
                    "lot": r.lot,
                    "ledger": r.ledger,
                    "settled": r.settled,
                    "voided": r.voided,
                    "difference": r.difference,
                }
                for r in rows
            ],
        )
    return out


@transaction.atomic
def settlement_run(*, actor, month: dt.date, site: Site | None = None) -> list[Settlement]:
    """Compute (or recompute) the month's draft settlements: of ``site``, or of every site with desk doses in
    the month or a dose voided since its month was settled. A settlement past draft is left as it is. Running
    it again recomputes the drafts from scratch (idempotent); two runs at once make one settlement per site and
    month (the unique constraint; the second waits for the first's row locks, then recomputes)."""
    require(actor, "settlement.run_settlement")
    first, last = domain.month_bounds(month)
    versions = _rule_versions()
    segs = domain.segments(versions, first, last)
    rule_end = domain.in_force(versions, last)
    if rule_end is None or domain.uncovered_from(segs, first) is not None:
        raise ValidationFailed(
            _("%(month)s没有完整生效的结算规则（服务费、补助比例、切换日期）") % {"month": f"{first:%Y-%m}"},
            field="month",
            code=E.RULE_MISSING,
        )
    work_sites, combos = _month_work(first, last)
    site_ids = [site.pk] if site is not None else work_sites
    if not site_ids:
        return []
    _missing_price(combos, set(site_ids))
    Settlement.objects.bulk_create(
        [Settlement(site_id=s, month=first, subsidy_share=rule_end.subsidy_share) for s in site_ids],
        ignore_conflicts=True,
    )
    rows = list(
        Settlement.objects.select_for_update(of=("self",))
        .select_related("site")
        .filter(month=first, site_id__in=site_ids)
        .order_by("id")
    )
    drafts = [s for s in rows if s.status == Status.DRAFT]
    if drafts:
        _compute(drafts, first, last, segs, rule_end)
    audit_record(
        actor=actor,
        action="settlement.run",
        object_type="settlement.settlement",
        object_id=f"{first:%Y-%m}",
        new={
            "month": f"{first:%Y-%m}",
            "sites": len(rows),
            "recomputed": [s.site.code for s in drafts],
            "payable": str(sum((s.payable for s in rows), domain.ZERO)),
        },
    )
    return rows


def _compute(drafts, first, last, segs, rule_end: domain.Rule) -> None:
    ids = [s.pk for s in drafts]
    marks = ", ".join(["%s"] * len(ids))
    price_sql, price_params = _price_case(first, last)
    fee_sql, fee_params, chan_sql, chan_params = _rule_cases(segs)
    with connection.cursor() as c:
        c.execute(f"DELETE FROM settlement_settlementline WHERE settlement_id IN ({marks})", ids)
        c.execute(
            "INSERT INTO settlement_settlementline (settlement_id, kind, channel, dose_id, given_on, product_code, "
            "lot_id, code_masked, vaccine_price, service_fee) "
            f"SELECT s.id, 'dose', {chan_sql}, d.id, d.given_on, d.product_code, d.lot_id, {_MASK}, "
            f"{price_sql}, {fee_sql} "
            + _DOSES.format(ids=marks).replace(
                "WHERE", "LEFT JOIN supply_tracecode t ON t.id = d.trace_code_id WHERE", 1
            ),
            [*chan_params, *price_params, *fee_params, first, *ids, first, last, False],
        )
    _take_back(drafts, first)
    _pay_late(drafts, first)
    with connection.cursor() as c:
        c.execute(
            "SELECT settlement_id, kind, channel, COUNT(*), SUM(vaccine_price), SUM(service_fee) "
            f"FROM settlement_settlementline WHERE settlement_id IN ({marks}) "
            "GROUP BY settlement_id, kind, channel",
            ids,
        )
        groups: dict[int, list[domain.Group]] = {i: [] for i in ids}
        for sid, kind, chan, n, vac, svc in c.fetchall():
            groups[sid].append(domain.Group(kind, chan, n, _dec(vac), _dec(svc)))
    verdicts = _reconcile(drafts, first, last)
    now = clock.now()
    for s in drafts:
        t = domain.totals(groups[s.pk], rule_end.subsidy_share)
        s.doses, s.service_fee, s.vaccine_cost, s.payable = t.doses, t.service_fee, t.vaccine_cost, t.payable
        s.subsidy_share, s.fiscal_subsidy = rule_end.subsidy_share, t.fiscal_subsidy
        s.old_channel_doses, s.old_channel_amount = t.old_channel_doses, t.old_channel_amount
        s.adjustment_lines, s.adjustment_amount = t.adjustment_lines, t.adjustment_amount
        s.reconciled, s.reconciliation = verdicts[s.pk]
        s.computed_at = now
    Settlement.objects.bulk_update(
        drafts,
        [
            "doses",
            "service_fee",
            "vaccine_cost",
            "payable",
            "subsidy_share",
            "fiscal_subsidy",
            "old_channel_doses",
            "old_channel_amount",
            "adjustment_lines",
            "adjustment_amount",
            "reconciled",
            "reconciliation",
            "computed_at",
        ],
    )


_LINE_COLUMNS = (
    "settlement_id, kind, channel, dose_id, given_on, product_code, lot_id, code_masked, vaccine_price, "
    "service_fee"
)


def _draft_of_site(drafts) -> dict[int, int]:
    return {s.site_id: s.pk for s in drafts}


def _take_back(drafts, first: dt.date) -> None:
    """Each line of a frozen statement whose dose has since been voided: taken back, negative, in the site's
    draft of this month (once: ``settlementline_one_adjustment``), with the amounts it was paid with."""
    by_site = _draft_of_site(drafts)
    lines = [(line, by_site[site]) for line, site in _voids_to_take_back(first) if site in by_site]
    for i in range(0, len(lines), 400):
        chunk = lines[i : i + 400]
        with connection.cursor() as c:
            c.execute(
                f"INSERT INTO settlement_settlementline ({_LINE_COLUMNS}) "
                "SELECT CASE " + " ".join(["WHEN l.id = %s THEN %s"] * len(chunk)) + " END, 'adjustment', "
                "l.channel, l.dose_id, l.given_on, l.product_code, l.lot_id, l.code_masked, -l.vaccine_price, "
                f"-l.service_fee FROM settlement_settlementline l WHERE l.id IN ({', '.join(['%s'] * len(chunk))})",
                [*(v for pair in chunk for v in pair), *(line for line, _ in chunk)],
            )


def _pay_late(drafts, first: dt.date) -> None:
    """Each standing desk dose of a month already settled that its statement does not pay (recorded after
    it was computed): paid, positive, in the site's draft of this month (once: ``settlementline_one_late``),
    at the prices and on the channel in force on its own day — a settled statement is never rewritten."""
    by_site = _draft_of_site(drafts)
    late = [row for row in _late_doses(first) if row[1] in by_site]
    if not late:
        return
    rules = _rule_versions()
    by_lot, by_product = _price_versions()
    rows = []
    for dose_id, site_id, day, product, lot_id, code in late:
        rule = domain.in_force(rules, day)
        price = domain.in_force(by_lot.get(lot_id, ()), day)
        if price is None:
            price = domain.in_force(by_product.get(product, ()), day)
        if rule is None or price is None:
            raise ValidationFailed(
                _("疫苗%(product)s在%(day)s没有生效的议定价格，请先录入价格")
                % {"product": product, "day": day.isoformat()},
                field="price",
                code=E.PRICE_MISSING,
            )
        rows.append(
            SettlementLine(
                settlement_id=by_site[site_id],
                kind=LineKind.LATE,
                channel=domain.channel(day, rule.cutover),
                dose_id=dose_id,
                given_on=day,
                product_code=product,
                lot_id=lot_id,
                code_masked=domain.mask_code(code),
                vaccine_price=price,
                service_fee=rule.service_fee,
            )
        )
    SettlementLine.objects.bulk_create(rows, batch_size=500)


def _dec(value) -> Decimal:
    """A SUM from the database as exact yuan: PostgreSQL's numeric is a Decimal already; SQLite's REAL sum is
    read through its shortest text and rounded half up to the fen (a sum of fen never drifts half a fen)."""
    if value is None:
        return domain.ZERO
    return domain.yuan(value if isinstance(value, Decimal | int) else str(value))


# --------------------------------------------------------------------------------------------------
# The status flow: draft → confirmed (the site) → approved (县医保) → paid; approved is frozen
# --------------------------------------------------------------------------------------------------


def _locked(settlement: Settlement) -> Settlement:
    try:
        return Settlement.objects.select_for_update(of=("self",)).select_related("site").get(pk=settlement.pk)
    except Settlement.DoesNotExist:
        raise NotFound(_("结算单不存在"), code=E.NOT_FOUND) from None


def _move(s: Settlement, target: str) -> None:
    if s.frozen and target != Status.PAID:
        raise ValidationFailed(
            _("%(month)s %(site)s的结算单已审核，不可更改")
            % {"month": f"{s.month:%Y-%m}", "site": s.site.name},
            field="status",
            code=E.FROZEN,
        )
    if not domain.can_move(s.status, target):
        raise ValidationFailed(
            _("结算单状态为“%(current)s”，不能改为“%(target)s”")
            % {"current": s.get_status_display(), "target": Status(target).label},
            field="status",
            code=E.STATUS_MOVE,
        )


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


@transaction.atomic
def settlement_confirm(*, actor, settlement: Settlement) -> Settlement:
    """The site confirms its draft statement (its own site only)."""
    require(actor, "settlement.confirm_settlement")
    s = _locked(settlement)
    if not (getattr(actor, "is_superuser", False) or site_in_scope(actor, s.site)):
        raise PermissionDenied(_("只能确认本接种单位的结算单"), code=E.SITE_NOT_FOUND)
    _move(s, Status.CONFIRMED)
    s.status, s.confirmed_by, s.confirmed_at = Status.CONFIRMED, _user(actor), clock.now()
    s.save(update_fields=["status", "confirmed_by", "confirmed_at"])
    audit_record(actor=actor, action="settlement.confirm", obj=s, new={"status": s.status})
    return s


@transaction.atomic
def settlement_return(*, actor, settlement: Settlement, reason: str) -> Settlement:
    """The medical-insurance office sends a confirmed statement back to draft (to be recomputed)."""
    require(actor, "settlement.approve_settlement")
    s = _locked(settlement)
    _move(s, Status.DRAFT)
    s.status, s.confirmed_by, s.confirmed_at = Status.DRAFT, None, None
    s.save(update_fields=["status", "confirmed_by", "confirmed_at"])
    audit_record(actor=actor, action="settlement.return", obj=s, new={"status": s.status, "reason": reason})
    return s


@transaction.atomic
def settlement_approve(*, actor, settlement: Settlement) -> Settlement:
    """The county medical-insurance office approves a confirmed statement: from now on it is frozen."""
    require(actor, "settlement.approve_settlement")
    s = _locked(settlement)
    _move(s, Status.APPROVED)
    s.status, s.approved_by, s.approved_at = Status.APPROVED, _user(actor), clock.now()
    s.save(update_fields=["status", "approved_by", "approved_at"])
    audit_record(
        actor=actor, action="settlement.approve", obj=s, new={"status": s.status, "payable": str(s.payable)}
    )
    return s


@transaction.atomic
def settlement_pay(*, actor, settlement: Settlement, paid_on: dt.date, reference: str) -> Settlement:
    """The office records the payment of an approved statement (date and reference)."""
    require(actor, "settlement.approve_settlement")
    s = _locked(settlement)
    reference = (reference or "").strip()
    if not paid_on or not reference:
        raise ValidationFailed(
            _("请填写支付日期和支付凭证号"), field="paid_reference", code=E.PAYMENT_MISSING
        )
    _move(s, Status.PAID)
    s.status, s.paid_on, s.paid_reference = Status.PAID, paid_on, reference[:60]
    s.save(update_fields=["status", "paid_on", "paid_reference"])
    audit_record(
        actor=actor,
        action="settlement.pay",
        obj=s,
        new={"status": s.status, "paid_on": paid_on.isoformat(), "reference": s.paid_reference},
    )
    return s


__all__ = [
    "lot_price_add",
    "rule_add",
    "settlement_approve",
    "settlement_confirm",
    "settlement_pay",
    "settlement_return",
    "settlement_run",
    "vaccine_price_add",
    "version_guard",
]

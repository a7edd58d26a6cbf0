"""Reads of the supply chain; personal data only through the user's scope, full identities only audited."""

import math
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxops.accounts.scope import require, scope_for
from vaxops.audit.services import audit_record
from vaxops.campaign.models import ImmunizationStatus
from vaxops.campaign.selectors import category_q
from vaxops.catalog.domain import MobilisationCategory as C
from vaxops.catalog.models import Phase, PhaseTarget, Product, TracePrefix
from vaxops.core import clock
from vaxops.core.errors import CoreErrorCode, NotFound, PermissionDenied, ValidationFailed
from vaxops.registry.domain import mask_id, mask_name
from vaxops.registry.errors import RegistryErrorCode
from vaxops.registry.models import Resident

from . import domain
from .errors import SupplyErrorCode
from .models import (
    AllocationRun,
    CodeState,
    ColdChainKind,
    ColdChainUnit,
    Dispatch,
    DispatchCode,
    DispatchItem,
    DispatchStatus,
    Lot,
    PlaceKind,
    ReceiptImportJob,
    StockBalance,
    StockCount,
    StockMovement,
    StockPlace,
    TraceCode,
)

RECIPIENTS_SHOWN = 1000


# --------------------------------------------------------------------------------------------------
# Stock and cold-chain space
# --------------------------------------------------------------------------------------------------


def places_for(user):
    """The stock places a user may act on: those whose division lies in the user's scope (all of them for a
    county-wide user); an employer-scoped user has none."""
    scope = scope_for(user)
    qs = StockPlace.objects.select_related("division", "parent").order_by("code")
    if scope.unrestricted:
        return qs
    if scope.code_low is None:
        return qs.none()
    return qs.filter(division__code__gte=scope.code_low, division__code__lte=scope.code_high)


def require_place(user, place: StockPlace, perm: str) -> None:
    """PermissionDenied unless ``user`` holds ``perm`` and ``place`` is in the user's scope."""
    require(user, perm)
    if not places_for(user).filter(pk=place.pk).exists():
        raise PermissionDenied(
            _("%(place_name)s不在您的管辖范围内") % {"place_name": place.name},
            code=CoreErrorCode.OUT_OF_SCOPE,
        )


def stock_lines(*, place: StockPlace, product: Product) -> list[domain.StockLine]:
    """The place's stock of ``product`` as FEFO input: one line per lot with doses > 0."""
    return [
        domain.StockLine(
            lot=b.lot.lot_number,
            product=product.code,
            expiry=b.lot.expiry,
            status=b.lot.status,
            doses_available=b.doses,
            doses_per_pack=product.doses_per_vial,
            pack_volume_cm3=product.pack_volume_cm3,
        )
        for b in StockBalance.objects.filter(place=place, lot__product=product, doses__gt=0).select_related(
            "lot"
        )
    ]


def volume_used_cm3(place: StockPlace) -> Decimal:
    """Cold-chain space taken at ``place`` by codes in stock there and codes on their way to it."""
    used = Decimal(0)
    held = (
        TraceCode.objects.filter(place=place, state__in=(CodeState.IN_STOCK, CodeState.QUARANTINED))
        .values("lot__product__pack_volume_cm3")
        .annotate(n=Count("id"))
    )
    coming = (
        TraceCode.objects.filter(state=CodeState.IN_TRANSIT, dispatch__to_place=place)
        .values("lot__product__pack_volume_cm3")
        .annotate(n=Count("id"))
    )
    for row in (*held, *coming):
        used += row["lot__product__pack_volume_cm3"] * row["n"]
    return used


def volume_total_cm3(place: StockPlace) -> int:
    return place.units.aggregate(v=Sum("usable_volume_cm3"))["v"] or 0


def free_volume_cm3(place: StockPlace) -> Decimal:
    """Usable cold-chain volume of the place's units less what its stock (and stock in transit to it)
    takes; 0 for a place without registered cold-chain units."""
    return max(Decimal(0), Decimal(volume_total_cm3(place)) - volume_used_cm3(place))


def balances(*, place: StockPlace | None = None, product: Product | None = None) -> list[dict]:
    """Balances per place × lot (doses), only those holding stock."""
    qs = StockBalance.objects.filter(doses__gt=0).select_related("place", "lot__product")
    if place is not None:
        qs = qs.filter(place=place)
    if product is not None:
        qs = qs.filter(lot__product=product)
    today = clock.today()
    quarantined = {
        (r["place_id"], r["lot_id"]): r["n"] * r["lot__product__doses_per_vial"]
        for r in TraceCode.objects.filter(state=CodeState.QUARANTINED)
        .values("place_id", "lot_id", "lot__product__doses_per_vial")
        .annotate(n=Count("id"))
        .order_by()
    }
    rows = []
    for b in qs.order_by("place__code", "lot__expiry", "lot__lot_number"):
        usable, why = domain.lot_usable(status=b.lot.status, expiry=b.lot.expiry, on=today)
        rows.append(
            {
                "place": b.place.code,
                "place_name": b.place.name,
                "lot": b.lot.lot_number,
                "product": b.lot.product.code,
                "expiry": b.lot.expiry.isoformat(),
                "status": b.lot.status,
                "status_label": domain.LotStatus(b.lot.status).label_zh,
                "usable": usable,
                "why": why,
                "doses": b.doses,
                "quarantined_doses": quarantined.get((b.place_id, b.lot_id), 0),
            }
        )
    return rows


def unit_of(*, code: TraceCode):
    """The cold-chain unit ``code`` is in, or ``None``."""
    return ColdChainUnit.objects.filter(pk=code.unit_id).first() if code.unit_id else None


def products_in_stock(*, place_id: int) -> list[str]:
    """The codes of the products the place holds doses of, each once, the earliest-expiring lot's first."""
    codes: list[str] = []
    for code in (
        StockBalance.objects.filter(place_id=place_id, doses__gt=0)
        .order_by("lot__expiry")
        .values_list("lot__product__code", flat=True)
    ):
        if code not in codes:
            codes.append(code)
    return codes


def places_overview() -> list[dict]:
    """Every place with its stock, stock in transit to it and cold-chain use."""
    stock = dict(
        StockBalance.objects.values("place_id").annotate(d=Sum("doses")).values_list("place_id", "d")
    )
    coming = dict(
        Dispatch.objects.filter(status=DispatchStatus.IN_TRANSIT)
        .values("to_place_id")
        .annotate(d=Sum("doses"))
        .values_list("to_place_id", "d")
    )
    rows = []
    for p in StockPlace.objects.select_related("division", "parent").order_by("code"):
        total = volume_total_cm3(p)
        used = volume_used_cm3(p)
        rows.append(
            {
                "place": p,
                "stock": stock.get(p.pk, 0) or 0,
                "in_transit": coming.get(p.pk, 0) or 0,
                "volume_total": total,
                "volume_used": used,
                "volume_pct": (float(used) / total * 100) if total else None,
            }
        )
    return rows


# --------------------------------------------------------------------------------------------------
# Allocation inputs
# --------------------------------------------------------------------------------------------------


def _current_phases(on):
    return Phase.objects.filter(starts_on__lte=on).filter(Q(ends_on__isnull=True) | Q(ends_on__gte=on))


def place_needs(*, places, product: Product, on) -> list[tuple[domain.PlaceNeed, dict]]:
    """Each place's remaining need for the allocation, with the figures behind it.

    Remaining need = the current phases' target people in the place's division not yet covered (people
    with at least one valid dose); where the county set no target there, the people who may start now
    (应种未种). Second doses due = people whose dose 2 or later is due or overdue today. Stock on hand
    counts the product's doses there and in transit to it; free volume is counted in whole packs.
    """
    phases = list(_current_phases(on))
    rows = []
    for p in places:
        low, high = p.division.code_range
        in_range = ImmunizationStatus.objects.filter(village_code__gte=low, village_code__lte=high)
        target = PhaseTarget.objects.filter(
            phase__in=phases, division__code__gte=low, division__code__lte=high
        ).aggregate(t=Sum("target_people"))["t"]
        if target is not None:
            covered = in_range.filter(valid_doses__gte=1).count()
            remaining = max(0, target - covered)
            basis = f"阶段目标{target:,}人，已接种{covered:,}人"
        else:
            remaining = in_range.filter(category_q(C.NOT_STARTED, on, prefix="")).count()
            basis = f"未设阶段目标，按应种未种{remaining:,}人"
        second = (
            in_range.filter(next_number__gte=2)
            .filter(category_q(C.DOSE_DUE, on, prefix="") | category_q(C.OVERDUE, on, prefix=""))
            .count()
        )
        held = StockBalance.objects.filter(place=p, lot__product=product).aggregate(d=Sum("doses"))["d"] or 0
        coming = (
            DispatchItem.objects.filter(
                dispatch__to_place=p, dispatch__status=DispatchStatus.IN_TRANSIT, lot__product=product
            ).aggregate(d=Sum("doses_sent"))["d"]
            or 0
        )
        free = free_volume_cm3(p)
        free_packs = math.floor(free / product.pack_volume_cm3)
        need = domain.PlaceNeed(
            code=p.code,
            name=p.name,
            remaining_need=remaining,
            second_doses_due=second,
            risk_weight=p.risk_index,
            density_weight=p.density_index,
            mobility_weight=p.mobility_index,
            stock_on_hand_doses=held + coming,
            free_volume_packs=free_packs,
        )
        rows.append(
            (
                need,
                {
                    "basis": basis,
                    "remaining_need": remaining,
                    "second_doses_due": second,
                    "stock_on_hand": held + coming,
                    "free_packs": free_packs,
                    "risk": str(p.risk_index),
                    "density": str(p.density_index),
                    "mobility": str(p.mobility_index),
                },
            )
        )
    return rows


# --------------------------------------------------------------------------------------------------
# Trace (来源可查、去向可追)
# --------------------------------------------------------------------------------------------------


def _recipient(c: TraceCode, *, reveal: bool) -> dict:
    r = c.administered_to
    return {
        "code": c.code,
        "administered_at": c.administered_at.isoformat() if c.administered_at else None,
        "resident_id": r.pk,
        "name": r.name if reveal else mask_name(r.name),
        "id_number": r.id_number if reveal else r.id_number_masked,
        "place": c.place.code if c.place_id else None,
        "place_name": c.place.name if c.place_id else "",
    }


def _reveal_allowed(user, purpose: str | None) -> bool:
    if not purpose:
        return False
    if not user.has_perm("registry.reveal_identity"):
        raise PermissionDenied(_("您的角色无权查看完整身份信息"), code=CoreErrorCode.ROLE_FORBIDDEN)
    if len(purpose.strip()) < 2:
        raise ValidationFailed(
            _("查看完整身份须填写用途"), field="purpose", code=CoreErrorCode.PURPOSE_REQUIRED
        )
    return True


def lot_trace(
    *, user, lot: Lot, limit: int = RECIPIENTS_SHOWN, offset: int = 0, reveal_purpose: str | None = None
) -> dict:
    """Where every code of ``lot`` is and went: counts per state, the places it passed through (received,
    sent, received from dispatches, in stock, administered there), and the recipients.

    Recipients outside the user's scope are counted (``administered_hidden``) but not listed; at most
    ``limit`` are listed from ``offset``. With ``reveal_purpose`` (and the reveal permission) names and
    ID numbers are shown in full and one audit event records whose, and why.

    The lot's codes are counted once, per state and place together, on the (lot, state, place) index;
    a scoped user's recipients are counted with one join; when all of them are in scope the page is taken
    from the codes alone and only its people are read; only the columns shown are read.
    """

    require(user, "supply.view_lot")
    reveal = _reveal_allowed(user, reveal_purpose)
    codes = TraceCode.objects.filter(lot=lot).order_by()
    counts: dict[str, int] = {}
    held: list[tuple[int, str, int]] = []
    for state, pid, n in codes.values_list("state", "place_id").annotate(n=Count("*")):
        counts[state] = counts.get(state, 0) + n
        if pid is not None and state != CodeState.RECALLED:
            held.append((pid, state, n))
    by_state = {s: counts[s] for s in CodeState.values if s in counts}
    by_state.update((s, n) for s, n in counts.items() if s not in by_state)
    dpv = lot.product.doses_per_vial
    places: dict[int, dict] = {}

    def row(pid: int) -> dict:
        return places.setdefault(
            pid,
            {
                "received": 0,
                "sent": 0,
                "received_from_dispatch": 0,
                "in_stock": 0,
                "administered": 0,
                "wasted": 0,
            },
        )

    for pid, n in codes.filter(origin__isnull=False).values_list("origin_id").annotate(n=Count("*")):
        row(pid)["received"] = n
    for item in (
        DispatchItem.objects.filter(lot=lot)
        .values("dispatch__from_place_id", "dispatch__to_place_id")
        .annotate(sent=Sum("codes_sent"), got=Sum("codes_received"))
        .order_by()
    ):
        row(item["dispatch__from_place_id"])["sent"] += item["sent"]
        row(item["dispatch__to_place_id"])["received_from_dispatch"] += item["got"]
    for pid, state, n in held:
        if state in ("in_stock", "administered", "wasted"):
            row(pid)[state] = n
    names = {p.pk: p for p in StockPlace.objects.filter(pk__in=places).only("code", "name")}
    place_rows = [
        {"place": names[pid].code, "place_name": names[pid].name, **v}
        for pid, v in sorted(places.items(), key=lambda kv: names[kv[0]].code)
    ]

    total = by_state.get(CodeState.ADMINISTERED, 0)
    scope = scope_for(user)
    administered = codes.filter(state=CodeState.ADMINISTERED).order_by("administered_at", "id")
    visible = scope.filter(
        administered,
        code_field="administered_to__village_code",
        employer_field="administered_to__employer_id",
    )
    shown = total if scope.unrestricted or not total else visible.count()
    if shown and shown == total:
        # Every recipient is in scope: page the codes alone, then read just those people (still through the
        # scope, should a code have been given to someone outside it since the count).
        page = list(
            administered.values_list("code", "administered_at", "administered_to_id", "place_id")[
                offset : offset + limit
            ]
        )
        people: dict[int, tuple[str, str]] = {}
        ids = [rid for _, _, rid, _ in page]
        for i in range(0, len(ids), 900):
            people.update(
                (pk, (name, number))
                for pk, name, number in scope.filter(
                    Resident.objects.filter(pk__in=ids[i : i + 900])
                ).values_list("pk", "name", "id_number")
            )
        listed = [(code, at, rid, *people[rid], pid) for code, at, rid, pid in page if rid in people]
    else:
        listed = (
            list(
                visible.values_list(
                    "code",
                    "administered_at",
                    "administered_to_id",
                    "administered_to__name",
                    "administered_to__id_number",
                    "place_id",
                )[offset : offset + limit]
            )
            if shown
            else []
        )
    missing = {pid for *_, pid in listed if pid is not None and pid not in names}
    if missing:
        names.update((p.pk, p) for p in StockPlace.objects.filter(pk__in=missing).only("code", "name"))
    recipients = [
        {
            "code": code,
            "administered_at": at.isoformat() if at else None,
            "resident_id": rid,
            "name": name if reveal else mask_name(name),
            "id_number": number if reveal else mask_id(number),
            "place": names[pid].code if pid is not None else None,
            "place_name": names[pid].name if pid is not None else "",
        }
        for code, at, rid, name, number, pid in listed
    ]
    if reveal and listed:
        audit_record(
            actor=user,
            action="supply.trace_reveal",
            obj=lot,
            new={"purpose": reveal_purpose.strip(), "residents": [r[2] for r in listed]},
        )
    in_transit = list(
        Dispatch.objects.filter(items__lot=lot, status=DispatchStatus.IN_TRANSIT).values_list(
            "number", flat=True
        )
    )
    return {
        "lot": lot.lot_number,
        "product": lot.product.code,
        "product_name": lot.product.name_zh,
        "manufacturer": lot.manufacturer,
        "expiry": lot.expiry.isoformat(),
        "status": lot.status,
        "status_label": domain.LotStatus(lot.status).label_zh,
        "release_certificate": lot.release_certificate,
        "doses_per_code": dpv,
        "codes_total": sum(by_state.values()),
        "by_state": by_state,
        "places": place_rows,
        "in_transit_dispatches": in_transit,
        "in_stock": [
            {"place": r["place"], "place_name": r["place_name"], "codes": r["in_stock"]}
            for r in place_rows
            if r["in_stock"]
        ],
        "administered_total": total,
        "administered_hidden": total - shown,
        "recipients": recipients,
        "offset": offset,
        "limit": limit,
        "revealed": reveal,
    }


def code_trace(*, user, code: str, reveal_purpose: str | None = None) -> dict:
    """One code's path: where it was received, every dispatch it travelled in with its outcome, its state
    now, its ledger rows, and (masked, in scope) who received it."""
    require(user, "supply.view_lot")
    try:
        text = domain.parse_trace_code(code).code
    except domain.TraceCodeError as e:
        raise ValidationFailed(e.message, field="code", code=SupplyErrorCode.CODE_MALFORMED) from None
    tc = (
        TraceCode.objects.select_related("lot__product", "place", "origin", "administered_to")
        .filter(code=text)
        .first()
    )
    if tc is None:
        raise ValidationFailed(
            _("追溯码%(text)s未登记") % {"text": text}, field="code", code=SupplyErrorCode.CODE_UNKNOWN
        )
    reveal = _reveal_allowed(user, reveal_purpose)
    hops = [
        {
            "dispatch": r.dispatch.number,
            "from": r.dispatch.from_place.name,
            "to": r.dispatch.to_place.name,
            "dispatched_at": r.dispatch.dispatched_at.isoformat(),
            "received_at": r.dispatch.received_at.isoformat() if r.dispatch.received_at else None,
            "outcome": r.outcome,
            "outcome_label": r.get_outcome_display(),
        }
        for r in DispatchCode.objects.filter(code=tc)
        .select_related("dispatch__from_place", "dispatch__to_place")
        .order_by("dispatch__dispatched_at", "id")
    ]
    recipient = None
    hidden = False
    if tc.state == CodeState.ADMINISTERED and tc.administered_to_id:
        if (
            scope_for(user)
            .filter(
                TraceCode.objects.filter(pk=tc.pk),
                code_field="administered_to__village_code",
                employer_field="administered_to__employer_id",
            )
            .exists()
        ):
            recipient = _recipient(tc, reveal=reveal)
            if reveal:
                audit_record(
                    actor=user,
                    action="supply.trace_reveal",
                    obj=tc.lot,
                    new={
                        "purpose": reveal_purpose.strip(),
                        "residents": [tc.administered_to_id],
                        "code": tc.code,
                    },
                )
        else:
            hidden = True
    movements = [
        {
            "at": m.at.isoformat(),
            "kind": m.kind,
            "kind_label": m.get_kind_display(),
            "place": m.place.name,
            "doses": m.doses,
            "reference": m.reference,
        }
        for m in StockMovement.objects.filter(code=tc).select_related("place").order_by("at", "id")
    ]
    return {
        "code": tc.code,
        "lot": tc.lot.lot_number,
        "lot_id": tc.lot_id,
        "product": tc.lot.product.code,
        "product_name": tc.lot.product.name_zh,
        "expiry": tc.lot.expiry.isoformat(),
        "lot_status": tc.lot.status,
        "state": tc.state,
        "state_label": tc.get_state_display(),
        "package": tc.package,
        "origin": tc.origin.name if tc.origin_id else None,
        "place": tc.place.name if tc.place_id else None,
        "wasted_reason": tc.wasted_reason,
        "dispatches": hops,
        "movements": movements,
        "recipient": recipient,
        "recipient_hidden": hidden,
    }


def person_codes(*, user, resident) -> list[dict]:
    """Every code ``resident`` received (the resident must be in the user's scope)."""
    require(user, "supply.view_lot")

    if not scope_for(user).filter(Resident.objects.filter(pk=resident.pk)).exists():
        raise NotFound(_("居民不存在或不在您的管辖范围内"), code=RegistryErrorCode.RESIDENT_NOT_FOUND)
    return [
        {
            "code": c.code,
            "lot": c.lot.lot_number,
            "product": c.lot.product.code,
            "product_name": c.lot.product.name_zh,
            "expiry": c.lot.expiry.isoformat(),
            "lot_status": c.lot.status,
            "administered_at": c.administered_at.isoformat() if c.administered_at else None,
            "place": c.place.name if c.place_id else "",
        }
        for c in TraceCode.objects.filter(administered_to=resident)
        .select_related("lot__product", "place")
        .order_by("administered_at", "id")
    ]


# --------------------------------------------------------------------------------------------------
# Alerts and the ledger check
# --------------------------------------------------------------------------------------------------


def alerts(*, now=None, expiring_days: int = 30, overdue_hours: int = 24, use_days: int = 7) -> dict:
    """Lots with stock expiring within ``expiring_days``; places whose stock covers fewer than their
    ``low_stock_days`` at the last ``use_days`` days' rate of use; dispatches not received within
    ``overdue_hours``."""
    now = now or clock.now()
    today = timezone.localdate(now)
    stocked = (
        Lot.objects.filter(balances__doses__gt=0, status=domain.LotStatus.RELEASED.value)
        .annotate(stock=Sum("balances__doses"))
        .select_related("product")
    )
    expiring = [
        {
            "lot": lot.lot_number,
            "lot_id": lot.pk,
            "product": lot.product.code,
            "expiry": lot.expiry.isoformat(),
            "days_left": (lot.expiry - today).days,
            "doses": lot.stock,
        }
        for lot in domain.expiring_soon(list(stocked), on=today, days=expiring_days)
    ]
    since = now - timedelta(days=use_days)
    used = dict(
        StockMovement.objects.filter(kind=domain.MovementKind.ADMINISTRATION.value, at__gte=since)
        .values("place_id")
        .annotate(d=Sum("doses"))
        .values_list("place_id", "d")
    )
    stock = dict(
        StockBalance.objects.values("place_id").annotate(d=Sum("doses")).values_list("place_id", "d")
    )
    low = []
    for p in StockPlace.objects.filter(pk__in=used).order_by("code"):
        rate = Decimal(-used[p.pk]) / use_days
        cover = domain.days_of_cover(stock_doses=stock.get(p.pk, 0) or 0, recent_daily_use=rate)
        if cover is not None and cover < p.low_stock_days:
            low.append(
                {
                    "place": p.code,
                    "place_name": p.name,
                    "stock": stock.get(p.pk, 0) or 0,
                    "daily_use": float(rate),
                    "days_of_cover": round(cover, 1),
                    "threshold": p.low_stock_days,
                }
            )
    overdue = [
        {
            "number": d.number,
            "dispatch_id": d.pk,
            "from": d.from_place.name,
            "to": d.to_place.name,
            "dispatched_at": d.dispatched_at.isoformat(),
            "doses": d.doses,
            "hours": round((now - d.dispatched_at).total_seconds() / 3600, 1),
        }
        for d in Dispatch.objects.filter(status=DispatchStatus.IN_TRANSIT)
        .select_related("from_place", "to_place")
        .order_by("dispatched_at")
        if domain.receipt_overdue(dispatched_at=d.dispatched_at, now=now, hours=overdue_hours)
    ]
    return {
        "expiring": expiring,
        "low_stock": low,
        "receipts_overdue": overdue,
        "total": len(expiring) + len(low) + len(overdue),
    }


def ledger_check() -> dict:
    """Whether the books balance: for each place × lot, the balance equals the sum of its ledger rows and
    the codes in stock there; for each lot, codes received = in stock + in transit + administered +
    wasted + recalled. Returns the differences (empty lists when everything balances)."""
    sums = {
        (r["place_id"], r["lot_id"]): r["s"]
        for r in StockMovement.objects.values("place_id", "lot_id").annotate(s=Sum("doses"))
    }
    held = {
        (r["place_id"], r["lot_id"]): r["n"] * r["lot__product__doses_per_vial"]
        # A quarantined code is still on the place's books (held apart until released or destroyed).
        for r in TraceCode.objects.filter(state__in=(CodeState.IN_STOCK, CodeState.QUARANTINED))
        .values("place_id", "lot_id", "lot__product__doses_per_vial")
        .annotate(n=Count("id"))
    }
    bal = {(b.place_id, b.lot_id): b.doses for b in StockBalance.objects.all()}
    problems = []
    for key in sorted(set(sums) | set(held) | set(bal)):
        b, s, h = bal.get(key, 0), sums.get(key, 0), held.get(key, 0)
        if not (b == s == h):
            problems.append(
                {"place_id": key[0], "lot_id": key[1], "balance": b, "ledger": s, "codes_in_stock": h}
            )
    return {"balanced": not problems, "pairs": len(set(sums) | set(bal)), "differences": problems}


# --------------------------------------------------------------------------------------------------
# What the pages and the API look up
# --------------------------------------------------------------------------------------------------
# Lots, products and the list of places are county-wide reference data (anyone with the app's view
# permission sees them all); what belongs to places — dispatches, allocation runs, counts, alerts — is
# limited to ``places_for(user)``.


def place_by_code(*, code: str) -> StockPlace | None:
    """The stock place with this code (any place: a dispatch may go anywhere), or ``None``."""
    return StockPlace.objects.select_related("division", "parent").filter(code=code).first()


def place_by_id(*, place_id: int) -> StockPlace | None:
    return StockPlace.objects.filter(pk=place_id).first()


def county_stores(*, limit: int = 2) -> list[StockPlace]:
    """Up to ``limit`` county stores, by code (the caller tells "none" from "several")."""
    return list(StockPlace.objects.filter(kind=PlaceKind.COUNTY_STORE).order_by("code")[:limit])


def unit_by_id(*, unit_id: int) -> ColdChainUnit | None:
    """One cold-chain unit by its id, with its place, or ``None``."""
    return ColdChainUnit.objects.select_related("place").filter(pk=unit_id).first()


def carriers(*, places) -> list[ColdChainUnit]:
    """The units that can carry a dispatch (冷藏车, 冷藏箱/包) at these places."""
    return list(
        ColdChainUnit.objects.select_related("place")
        .filter(place__in=places, kind__in=(ColdChainKind.VEHICLE, ColdChainKind.COLD_BOX))
        .order_by("place__code", "id")
    )


def places_all():
    """Every stock place by code: the destinations a dispatch may name."""
    return StockPlace.objects.order_by("code")


def place_codes(*, place_ids) -> dict[int, str]:
    """``{id: code}`` of the places with these ids."""
    return dict(StockPlace.objects.filter(pk__in=set(place_ids)).values_list("pk", "code"))


def place_ids_by_code(*, codes) -> dict[str, int]:
    """``{code: id}`` of the places with these codes (for links from the selectors' rows, which name places)."""
    return dict(StockPlace.objects.filter(code__in=list(codes)).values_list("code", "pk"))


def product_by_code(*, code: str) -> Product | None:
    return Product.objects.filter(code=code).first()


def trace_prefix_example():
    """The first registered trace prefix (by product order) with its product, or ``None``: the receipt
    template's example row."""
    return (
        TracePrefix.objects.select_related("product").order_by("product__sort", "product__code", "id").first()
    )


def lots_listed(*, user=None, q: str = "", status: str = "", product: Product | None = None):
    """Lots by expiry; with ``user``, each annotated with ``stock``, the doses held at the user's places;
    ``q`` matches lot number, product code or manufacturer; ``status`` and ``product`` filter."""
    qs = Lot.objects.select_related("product")
    if user is not None:
        qs = qs.annotate(stock=Sum("balances__doses", filter=Q(balances__place__in=places_for(user))))
        qs = qs.order_by("expiry", "lot_number")
    else:
        qs = qs.order_by("expiry", "lot_number", "id")
    if q:
        qs = qs.filter(
            Q(lot_number__icontains=q) | Q(product__code__icontains=q) | Q(manufacturer__icontains=q)
        )
    if product is not None:
        qs = qs.filter(product=product)
    if status:
        qs = qs.filter(status=status)
    return qs


def lots_for_pages():
    """Lots with what a lot page shows (for ``get_object_or_404``)."""
    return Lot.objects.select_related("product", "status_changed_by")


def lot_by_id(*, lot_id: int) -> Lot | None:
    return Lot.objects.select_related("product").filter(pk=lot_id).first()


def lot_ids_by_number(*, keys) -> dict[tuple[str, str], int]:
    """Lot ids by (product code, lot number), for links from the selectors' rows (which name lots)."""
    return {
        (lot.product.code, lot.lot_number): lot.pk
        for lot in Lot.objects.select_related("product").filter(
            lot_number__in={number for _p, number in keys}
        )
    }


def lot_numbers(*, lot_ids) -> dict[int, str]:
    """``{id: lot number}`` of the lots with these ids."""
    return dict(Lot.objects.filter(pk__in=set(lot_ids)).values_list("pk", "lot_number"))


def code_with_place(*, code: str) -> TraceCode:
    """A registered code with its place (``TraceCode.DoesNotExist`` when there is none: callers pass a code
    a trace selector has just found)."""
    return TraceCode.objects.select_related("place").get(code=code)


def code_places(*, codes) -> dict[str, str]:
    """``{code: place name}`` of these codes (the name is ``None`` for codes not in a place)."""
    return dict(
        TraceCode.objects.filter(code__in=list(codes))
        .select_related("place")
        .values_list("code", "place__name")
    )


def alerts_in_places(*, place_ids: set[int]) -> dict:
    """``alerts()`` limited to what concerns these places: their lots with stock, their places, the
    dispatches in transit from or to them; ``total`` counts them all."""
    found = alerts()
    codes = set(StockPlace.objects.filter(pk__in=place_ids).values_list("code", flat=True))
    lots_here = set(
        StockBalance.objects.filter(place_id__in=place_ids, doses__gt=0).values_list("lot_id", flat=True)
    )
    mine = set(
        Dispatch.objects.filter(
            Q(from_place_id__in=place_ids) | Q(to_place_id__in=place_ids), status=DispatchStatus.IN_TRANSIT
        ).values_list("pk", flat=True)
    )
    out = {
        "expiring": [x for x in found["expiring"] if x["lot_id"] in lots_here],
        "low_stock": [x for x in found["low_stock"] if x["place"] in codes],
        "receipts_overdue": [x for x in found["receipts_overdue"] if x["dispatch_id"] in mine],
    }
    out["total"] = sum(len(v) for v in out.values())
    return out


def ledger_check_in_places(*, place_ids: set[int]) -> dict:
    """``ledger_check()`` limited to these places, each difference with its place's name and lot number."""
    check = ledger_check()
    diffs = [d for d in check["differences"] if d["place_id"] in place_ids]
    places = {p.pk: p for p in StockPlace.objects.filter(pk__in={d["place_id"] for d in diffs})}
    lots = {lot.pk: lot for lot in Lot.objects.filter(pk__in={d["lot_id"] for d in diffs})}
    for d in diffs:
        d["place_name"] = places[d["place_id"]].name if d["place_id"] in places else str(d["place_id"])
        d["lot_number"] = lots[d["lot_id"]].lot_number if d["lot_id"] in lots else str(d["lot_id"])
    return {"balanced": not diffs, "pairs": check["pairs"], "differences": diffs}


def receipt_jobs_of(*, user):
    """The receipt imports ``user`` started, newest first (a job is its starter's)."""
    return ReceiptImportJob.objects.filter(created_by=user).select_related("place")


def dispatches_visible(*, user):
    """Dispatches from or to one of the user's places."""
    mine = places_for(user)
    return Dispatch.objects.filter(Q(from_place__in=mine) | Q(to_place__in=mine))


def dispatch_by_id(*, dispatch_id: int, related=("to_place",)) -> Dispatch | None:
    """The dispatch with ``related`` joined, or ``None`` (the caller checks the user's places)."""
    return Dispatch.objects.select_related(*related).filter(pk=dispatch_id).first()


def dispatch_codes(*, dispatch: Dispatch, limit: int) -> list[DispatchCode]:
    """The first ``limit`` codes of a dispatch, by code, with their lots."""
    return list(
        DispatchCode.objects.filter(dispatch=dispatch)
        .select_related("code__lot")
        .order_by("code__code")[:limit]
    )


def dispatch_outcomes(*, dispatch: Dispatch) -> dict[str, int]:
    """How many of a dispatch's codes have each outcome."""
    return dict(
        DispatchCode.objects.filter(dispatch=dispatch)
        .values("outcome")
        .annotate(n=Count("id"))
        .values_list("outcome", "n")
    )


def allocation_runs_visible(*, user):
    """Allocation runs whose source is one of the user's places."""
    return AllocationRun.objects.filter(source__in=places_for(user))


def allocation_run_by_id(*, run_id: int, related=("product", "source")) -> AllocationRun | None:
    """The run with ``related`` joined, or ``None`` (the caller checks the user's places)."""
    return AllocationRun.objects.select_related(*related).filter(pk=run_id).first()


def stock_counts_visible(*, user):
    """Stock counts at the user's places, newest first."""
    return StockCount.objects.filter(place__in=places_for(user)).select_related("place")


def stock_counts_for_pages():
    """Stock counts with what a count page shows (for ``get_object_or_404``; the caller checks the place)."""
    return StockCount.objects.select_related("place", "counted_by")


def resident_by_id(*, resident_id: int):
    """The resident, or ``None``: ``person_codes`` then applies the user's scope."""
    from vaxops.registry.models import Resident

    return Resident.objects.filter(pk=resident_id).first()

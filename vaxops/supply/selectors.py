"""Reads of the supply chain; personal data only through the user's scope."""

from django.db.models import Count

from vaxops.accounts.scope import require, scope_for
from vaxops.registry.domain import mask_name

from .models import CodeState, Lot, StockBalance, StockPlace, TraceCode


def lot_trace(*, user, lot: Lot, limit: int = 1000) -> dict:
    """Where every code of ``lot`` is: per place the codes in stock, per state the counts, and the
    administered codes with their recipients masked. Recipients outside the user's scope are counted
    (``administered_hidden``) but not listed; at most ``limit`` recipients are listed."""
    require(user, "supply.view_lot")
    places = {p.pk: p for p in StockPlace.objects.filter(codes__lot=lot).distinct()}
    in_stock = [
        {"place": places[r["place_id"]].code, "place_name": places[r["place_id"]].name, "codes": r["n"]}
        for r in TraceCode.objects.filter(lot=lot, state=CodeState.IN_STOCK, place__isnull=False)
        .values("place_id").annotate(n=Count("id")).order_by("place_id")
    ]
    by_state = dict(TraceCode.objects.filter(lot=lot).values("state").annotate(n=Count("id"))
                    .values_list("state", "n"))
    administered = TraceCode.objects.filter(lot=lot, state=CodeState.ADMINISTERED)
    total = administered.count()
    scope = scope_for(user)
    visible = scope.filter(administered, code_field="administered_to__village_code",
                           employer_field="administered_to__employer_id")
    shown = visible.count()
    recipients = [
        {"code": c.code, "administered_at": c.administered_at.isoformat() if c.administered_at else None,
         "name": mask_name(c.administered_to.name), "id_number": c.administered_to.id_number_masked,
         "place": c.place.code if c.place_id else None}
        for c in visible.select_related("administered_to", "place").order_by("administered_at", "code")[:limit]
    ]
    return {
        "lot": lot.lot_number,
        "product": lot.product.code,
        "expiry": lot.expiry.isoformat(),
        "status": lot.status,
        "codes_total": sum(by_state.values()),
        "by_state": by_state,
        "in_stock": in_stock,
        "administered_total": total,
        "administered_hidden": total - shown,
        "recipients": recipients,
    }


def balances(*, place: StockPlace | None = None) -> list[dict]:
    """Balances per place × lot (doses), only those holding stock."""
    qs = StockBalance.objects.filter(doses__gt=0).select_related("place", "lot__product")
    if place is not None:
        qs = qs.filter(place=place)
    return [
        {"place": b.place.code, "place_name": b.place.name, "lot": b.lot.lot_number, "product": b.lot.product.code,
         "expiry": b.lot.expiry.isoformat(), "status": b.lot.status, "doses": b.doses}
        for b in qs.order_by("place__code", "lot__expiry", "lot__lot_number")
    ]

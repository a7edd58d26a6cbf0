"""Reads of the settlement, always through the user's scope: the county's roles see every site, a site's staff
their own site, anyone else the sites of their jurisdiction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import QuerySet, Sum

from vaxops.accounts.scope import scope_for
from vaxops.catalog.models import Product
from vaxops.sites.models import Site
from vaxops.sites.selectors import staff_site_id
from vaxops.supply.models import Lot

from . import domain
from .models import LotPrice, Settlement, SettlementLine, SettlementRule, Status, VaccinePrice

MONEY = ("service_fee", "vaccine_cost", "payable", "fiscal_subsidy")


def settlements_visible(user) -> QuerySet[Settlement]:
    qs = Settlement.objects.select_related("site")
    if not (user.has_perm("settlement.view_settlement") or user.has_perm("settlement.view_subsidy")):
        return qs.none()
    scope = scope_for(user)
    if scope.unrestricted:
        return qs
    site_id = staff_site_id(user)
    if site_id is not None:
        return qs.filter(site_id=site_id)
    return _in_division(qs, scope)


def _in_division(qs, scope):
    if scope.code_low is None:
        return qs.none()
    return qs.filter(site__division__code__gte=scope.code_low, site__division__code__lte=scope.code_high)


def lines_of(settlement: Settlement) -> QuerySet[SettlementLine]:
    return (
        SettlementLine.objects.filter(settlement=settlement)
        .select_related("lot")
        .order_by("kind", "given_on", "id")
    )


def lines_counted(settlement: Settlement) -> int:
    return SettlementLine.objects.filter(settlement=settlement).count()


def statement_of(user, month: dt.date, site_code: str) -> Settlement | None:
    """The statement of ``site_code`` for the month, if the user may see it (``None`` otherwise)."""
    return settlements_visible(user).filter(month=month.replace(day=1), site__code=site_code).first()


def months_visible(user) -> list[dt.date]:
    return list(settlements_visible(user).order_by("-month").values_list("month", flat=True).distinct())


def row_of(s: Settlement) -> dict:
    """One settlement as the CLI's row (money as decimal strings)."""
    return {
        "site": s.site.code,
        "doses": s.doses,
        "service_fee_yuan": str(s.service_fee),
        "vaccine_cost_yuan": str(s.vaccine_cost),
        "payable_yuan": str(s.payable),
        "fiscal_subsidy_yuan": str(s.fiscal_subsidy),
        "old_channel_doses": s.old_channel_doses,
    }


def month_summary(qs: QuerySet[Settlement], month: dt.date) -> dict:
    """``{"month": "YYYY-MM", "rows": [...], "total": {...}}`` — the CLI's JSON shape — over ``qs`` in the month.
    The total's subsidy is the sum of the sites' (each rounded once, half up, to the fen)."""
    first = month.replace(day=1)
    rows = list(qs.filter(month=first).order_by("site__code"))
    out_rows = [row_of(s) for s in rows]
    total: dict = {
        "doses": sum(s.doses for s in rows),
        "service_fee_yuan": str(sum((s.service_fee for s in rows), domain.ZERO)),
        "vaccine_cost_yuan": str(sum((s.vaccine_cost for s in rows), domain.ZERO)),
        "payable_yuan": str(sum((s.payable for s in rows), domain.ZERO)),
        "fiscal_subsidy_yuan": str(sum((s.fiscal_subsidy for s in rows), domain.ZERO)),
        "old_channel_doses": sum(s.old_channel_doses for s in rows),
    }
    return {"month": f"{first:%Y-%m}", "rows": out_rows, "total": total}


def subsidy_summary(user) -> list[dict]:
    """Per month: the fund's payable sum, the fiscal subsidy owed and how much of it is approved or paid."""
    qs = settlements_visible(user)
    months = {}
    for month, status, payable, subsidy in qs.values_list("month", "status", "payable", "fiscal_subsidy"):
        m = months.setdefault(
            month,
            {
                "month": month,
                "sites": 0,
                "payable": Decimal("0.00"),
                "subsidy": Decimal("0.00"),
                "subsidy_approved": Decimal("0.00"),
                "paid_sites": 0,
            },
        )
        m["sites"] += 1
        m["payable"] += payable
        m["subsidy"] += subsidy
        if status in domain.FROZEN:
            m["subsidy_approved"] += subsidy
        if status == Status.PAID:
            m["paid_sites"] += 1
    return [months[k] for k in sorted(months, reverse=True)]


def dashboard_block(user) -> dict | None:
    """The dashboard's settlement figures: the latest settled month's doses, payable sum and subsidy, and how
    many of its statements are approved — ``None`` for a user who may not see them or before any month."""
    qs = settlements_visible(user)
    month = qs.order_by("-month").values_list("month", flat=True).first()
    if month is None:
        return None
    of_month = qs.filter(month=month)
    sums = of_month.aggregate(payable=Sum("payable"), subsidy=Sum("fiscal_subsidy"), doses=Sum("doses"))
    return {
        "month": f"{month:%Y-%m}",
        "sites": of_month.count(),
        "approved": of_month.filter(status__in=sorted(domain.FROZEN)).count(),
        "doses": sums["doses"] or 0,
        "payable": domain.yuan(sums["payable"] or 0),
        "subsidy": domain.yuan(sums["subsidy"] or 0),
    }


# ------------------------------------------------------------------ reads behind the pages (run, site, rules)


def site_by_code(code: str) -> Site | None:
    """A site by its code; the statements shown for it come from ``settlements_visible`` (the user's scope)."""
    return Site.objects.filter(code=code).first() if code else None


def rules_listed() -> QuerySet[SettlementRule]:
    return SettlementRule.objects.all()


def vaccine_prices_listed() -> QuerySet[VaccinePrice]:
    return VaccinePrice.objects.select_related("product")


def lot_prices_listed() -> QuerySet[LotPrice]:
    return LotPrice.objects.select_related("lot__product")


def products_listed() -> QuerySet[Product]:
    return Product.objects.order_by("code")


def product_by_code(code: str | None) -> Product:
    """The product priced; raises ``Product.DoesNotExist`` for an unknown code (the page says what to check)."""
    return Product.objects.get(code=code)


def lot_by_number(number: str | None) -> Lot:
    """The lot priced; raises ``Lot.DoesNotExist`` for an unknown number (the page says what to check)."""
    return Lot.objects.get(lot_number=number)

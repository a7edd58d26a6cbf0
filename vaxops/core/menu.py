"""The header menu, declared in one place: groups by job, each entry a route name and who may see it.

An app adding a page to the header adds one ``Entry`` to its group here (or a new ``Group``); the header
template draws whatever this list gives the signed-in user (``{% header_menu %}`` in ``core.templatetags``).
Route names are strings, so this module imports no app: ``reverse`` finds them when the menu is drawn.

A group with one visible entry is drawn as a plain link, a group with more as a drop-down; a group with no
visible entry is not drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


def _is_site_staff(user) -> bool:
    # A StaffMember row (sites) linked to the account: the person works at a vaccination site.
    return hasattr(user, "staff")


@dataclass(frozen=True)
class Entry:
    label: str | Promise
    route: str
    perms: tuple[str, ...] = ()  # any of these permissions shows the entry
    also: Callable[[object], bool] | None = None  # or this check on the user

    def visible(self, user) -> bool:
        if any(user.has_perm(p) for p in self.perms):
            return True
        return bool(self.also and self.also(user))


@dataclass(frozen=True)
class Group:
    key: str
    label: str | Promise
    entries: tuple[Entry, ...] = field(default_factory=tuple)


MENU: tuple[Group, ...] = (
    Group(
        "registry",
        _("居民"),
        (
            Entry(_("居民查询"), "registry:residents", ("registry.view_resident",)),
            Entry(_("按证件查找"), "registry:resident-find", ("registry.search_by_document",)),
            Entry(_("名单导入"), "registry:import", ("registry.import_residents",)),
        ),
    ),
    Group(
        "campaign",
        _("动员"),
        (
            Entry(_("动员名单"), "campaign:mobilisation", ("registry.view_resident",)),
            Entry(_("网格化随访"), "field:grid", ("field.view_followuplist",)),
        ),
    ),
    Group(
        "supply",
        _("疫苗供应"),
        (
            Entry(_("疫苗目录"), "catalog:catalogue", ("catalog.view_product",)),
            Entry(_("疫苗供应与追溯"), "supply:overview", ("supply.view_lot", "supply.view_stockbalance")),
            Entry(_("冷链温度"), "coldchain:overview", ("coldchain.view_equipment",)),
        ),
    ),
    Group(
        "sites",
        _("接种点与预约"),
        (
            Entry(_("接种点"), "sites:list", ("sites.view_site",)),
            Entry(_("预约"), "booking:door", ("booking.view_appointment",)),
            Entry(_("流动接种队"), "field:mobile", ("sites.view_site",)),
            Entry(_("培训与持证上岗"), "field:training", ("field.view_course",)),
        ),
    ),
    Group(
        "desk",
        _("接种台"),
        (
            Entry(
                _("接种台"), "desk:home", ("clinic.administer_dose", "clinic.void_dose"), also=_is_site_staff
            ),
        ),
    ),
    Group(
        "reports",
        _("报表"),
        (
            Entry(_("进度看板"), "reports:dashboard", ("reports.view_dashboard",)),
            Entry(_("日报表"), "reports:daily", ("reports.view_dailyreport",)),
            Entry(
                _("疫苗安全"), "safety:cases", ("safety.view_adverseeventreport", "safety.view_safety_counts")
            ),
            Entry(_("数据交换"), "exchange:overview", ("exchange.view_outboundmessage",)),
            Entry(_("结算"), "settlement:county", ("settlement.view_settlement", "settlement.view_subsidy")),
        ),
    ),
    Group(
        "admin",
        _("管理"),
        (Entry(_("审计日志"), "audit:events", ("audit.view_auditevent",)),),
    ),
)


def menu_for(user, menu: tuple[Group, ...] = MENU) -> list[dict]:
    """The groups and entries ``user`` may use, as plain data for the template (label, url, entries)."""
    if not getattr(user, "is_authenticated", False):
        return []
    out = []
    for group in menu:
        entries = [
            {"label": e.label, "url": reverse(e.route), "route": e.route}
            for e in group.entries
            if e.visible(user)
        ]
        if entries:
            out.append({"key": group.key, "label": group.label, "entries": entries})
    return out

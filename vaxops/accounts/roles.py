"""The roles of DESIGN.md §1 as permission groups.

Permissions are Django permissions ("app_label.codename"); a role is a group holding them. This module names
the roles (code, names, scope). Each app declares in its own ``roles.py`` which of *its* permissions each role
is granted — a ``GRANTS`` mapping of role code to permissions — and ``Role.permissions`` is the union of those
grants over the installed apps, in ``INSTALLED_APPS`` order. ``roles_sync`` (run after every migrate) keeps the
groups true to it, so changing a role is a code review, not a click in the admin.

The apps' ``roles`` modules are imported only when permissions are first asked for (the app registry must be
ready), never when this module is imported, so accounts, which every app builds on, imports none of them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import import_module
from types import MappingProxyType

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import module_has_submodule


@dataclass(frozen=True)
class Role:
    code: str
    name_zh: str
    name_en: str
    scope: str  # "division", "employer" or "site"

    @property
    def permissions(self) -> tuple[str, ...]:
        """Every permission the installed apps grant this role (empty if none does)."""
        return role_permissions()[self.code]


ROLES: tuple[Role, ...] = (
    Role("county_admin", "县疾控中心（免疫规划科）", "County CDC planner", "division"),
    Role("township_worker", "乡镇（街道）工作人员", "Township worker", "division"),
    Role("village_worker", "村（社区）工作人员", "Village / community worker", "division"),
    Role("employer_contact", "单位联络员", "Employer contact", "employer"),
    Role("site_screening", "接种单位·预检", "Site: pre-screening", "site"),
    Role("site_registration", "接种单位·登记", "Site: registration", "site"),
    Role("site_vaccinator", "接种单位·接种", "Site: vaccinator", "site"),
    Role("site_observation", "接种单位·留观", "Site: observation nurse", "site"),
    Role("hospital", "定点救治医院", "Designated treatment hospital", "division"),
    Role("safety_panel", "预防接种异常反应调查诊断专家组", "AEFI expert panel", "division"),
    Role("leader", "领导小组", "Leadership group", "division"),
    Role("auditor", "市场监管局 / 审计", "Regulator / auditor", "division"),
    Role("medical_insurance", "县医疗保障局（医保）", "County medical insurance office", "division"),
    Role("finance", "县财政局", "County finance bureau", "division"),
    Role(
        "grid_head",
        "网格负责人（村民小组长、楼长、单元长）",
        "Grid head (village group, building or unit)",
        "division",
    ),
)
ROLE_BY_CODE = {r.code: r for r in ROLES}
ROLE_CHOICES = [(r.code, r.name_zh) for r in ROLES]

# What this app grants: user management to the county planner.
GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": ("accounts.manage_users",),
}


def assemble_grants(
    grants_by_app: Iterable[tuple[str, Mapping[str, Iterable[str]]]],
) -> MappingProxyType[str, tuple[str, ...]]:
    """Every role's permissions from the apps' ``GRANTS``, given as ``(app_label, GRANTS)`` in app order.

    Each role gets a tuple (empty when no app grants it anything), in app order, without repeats. Raises
    ``ImproperlyConfigured`` when an app grants to a role that does not exist, or grants a permission of
    another app — an app knows its own permissions, and a grant can then never outlive its app.
    """
    merged: dict[str, dict[str, None]] = {r.code: {} for r in ROLES}
    for label, grants in grants_by_app:
        for code, permissions in grants.items():
            if code not in merged:
                raise ImproperlyConfigured(f"{label}.roles: 未知角色 {code!r} / unknown role")
            for dotted in permissions:
                if dotted.partition(".")[0] != label or not dotted.partition(".")[2]:
                    raise ImproperlyConfigured(
                        f"{label}.roles: {dotted!r} 不是本应用的权限 / not a permission of app {label!r}"
                    )
                merged[code][dotted] = None
    return MappingProxyType({code: tuple(perms) for code, perms in merged.items()})


def role_permissions() -> Mapping[str, tuple[str, ...]]:
    """Role code → the permissions the installed apps grant it (the app registry must be ready)."""
    return _assembled(tuple(config.name for config in apps.get_app_configs()))


@functools.cache
def _assembled(app_names: tuple[str, ...]) -> MappingProxyType[str, tuple[str, ...]]:
    # Keyed by the installed apps' names, so a test that changes INSTALLED_APPS gets its own answer.
    sources = []
    for config in apps.get_app_configs():
        if not module_has_submodule(config.module, "roles"):
            continue
        grants = getattr(import_module(f"{config.name}.roles"), "GRANTS", None)
        if grants is not None:
            sources.append((config.label, grants))
    return assemble_grants(sources)

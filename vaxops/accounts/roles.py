"""The roles of DESIGN.md §1 as permission groups.

Permissions are Django permissions ("app_label.codename"); a role is a group
holding them. ``roles_sync`` (run after every migrate) keeps the groups true to
this table, so changing a role is a code review, not a click in the admin.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    code: str
    name_zh: str
    name_en: str
    scope: str  # "division", "employer" or "site"
    permissions: tuple[str, ...]


_READ = ("registry.view_resident",)
_WRITE = ("registry.add_resident", "registry.change_resident", "registry.import_residents")
_REVEAL = ("registry.reveal_identity", "registry.search_by_document")

ROLES: tuple[Role, ...] = (
    Role("county_admin", "县疾控中心（免疫规划科）", "County CDC planner", "division",
         _READ + _WRITE + _REVEAL + ("audit.view_auditevent", "accounts.manage_users")),
    Role("township_worker", "乡镇（街道）工作人员", "Township worker", "division", _READ + _WRITE + _REVEAL),
    Role("village_worker", "村（社区）工作人员", "Village / community worker", "division", _READ + _WRITE + _REVEAL),
    Role("employer_contact", "单位联络员", "Employer contact", "employer", _READ + _WRITE + ("registry.reveal_identity",)),
    Role("site_screening", "接种单位·预检", "Site: pre-screening", "site", _READ + _REVEAL),
    Role("site_registration", "接种单位·登记", "Site: registration", "site", _READ + _REVEAL + ("registry.add_resident",)),
    Role("site_vaccinator", "接种单位·接种", "Site: vaccinator", "site", _READ),
    Role("site_observation", "接种单位·留观", "Site: observation nurse", "site", _READ),
    Role("hospital", "定点救治医院", "Designated treatment hospital", "division", ()),
    Role("leader", "领导小组", "Leadership group", "division", ("registry.view_statistics",)),
    Role("auditor", "市场监管局 / 审计", "Regulator / auditor", "division",
         ("audit.view_auditevent", "registry.view_resident", "registry.view_statistics")),
)

ROLE_BY_CODE = {r.code: r for r in ROLES}
ROLE_CHOICES = [(r.code, r.name_zh) for r in ROLES]

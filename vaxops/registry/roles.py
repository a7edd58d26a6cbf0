"""What each role may do with the register (assembled into groups by ``vaxops.accounts.roles``)."""

_READ = ("registry.view_resident",)
_WRITE = ("registry.add_resident", "registry.change_resident", "registry.import_residents")
_REVEAL = ("registry.reveal_identity", "registry.search_by_document")
# Sector departments (行业主管部门) are kept by the county; progress by sector is read by everyone who reads it.
_SECTORS = ("registry.view_sector", "registry.add_sector", "registry.change_sector")
# The grid (网格化): village groups, buildings and units with their heads.
_GROUPS = ("registry.view_villagegroup", "registry.add_villagegroup", "registry.change_villagegroup")

GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": _READ + _WRITE + _REVEAL + _SECTORS + _GROUPS,
    "township_worker": _READ + _WRITE + _REVEAL + _GROUPS,
    "village_worker": _READ + _WRITE + _REVEAL + _GROUPS,
    "employer_contact": _READ + _WRITE + ("registry.reveal_identity",),
    "site_screening": _READ + _REVEAL,
    "site_registration": _READ + _REVEAL + ("registry.add_resident",),
    "site_vaccinator": _READ,
    "site_observation": _READ,
    "leader": ("registry.view_statistics", "registry.view_sector"),
    "auditor": ("registry.view_resident", "registry.view_statistics"),
}

"""Who may read and load the population denominators (assembled into groups by ``vaxops.accounts.roles``)."""

_READ = ("reports.view_population",)
_EDIT = ("reports.add_population", "reports.change_population")

GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": _READ + _EDIT,
    "township_worker": _READ,
    "leader": _READ,
    "auditor": _READ,
}

"""Who may read and load the population denominators and confirm the daily report (assembled into groups by
``vaxops.accounts.roles``). A township confirms its own report; the county confirms or corrects any of its
townships'."""

_READ = ("reports.view_population", "reports.view_dailyreport")
_EDIT = ("reports.add_population", "reports.change_population")
_CONFIRM = ("reports.confirm_dailyreport",)

GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": _READ + _EDIT + _CONFIRM,
    "township_worker": _READ + _CONFIRM,
    "leader": _READ,
    "auditor": _READ,
}

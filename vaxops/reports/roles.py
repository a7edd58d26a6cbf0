"""Who may read and load the population denominators and confirm the daily report (assembled into groups by
``vaxops.accounts.roles``). A township confirms its own report; the county confirms or corrects any of its
townships'."""

_READ = ("reports.view_population", "reports.view_grouppopulation", "reports.view_dailyreport")
_EDIT = (
    "reports.add_population",
    "reports.change_population",
    "reports.add_grouppopulation",
    "reports.change_grouppopulation",
)
_CONFIRM = ("reports.confirm_dailyreport",)
# The dashboard (接种进度看板) and the weekly bulletins (周通报): the county drafts and publishes them.
_DASHBOARD = ("reports.view_dashboard", "reports.view_weeklybulletin")
_PUBLISH = ("reports.add_weeklybulletin", "reports.publish_weeklybulletin")

GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": _READ + _EDIT + _CONFIRM + _DASHBOARD + _PUBLISH,
    "township_worker": _READ + _CONFIRM + _DASHBOARD,
    "leader": _READ + _DASHBOARD,
    "auditor": _READ,
}

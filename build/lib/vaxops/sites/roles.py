"""What each role may do with sites, staff and sessions (assembled into groups by ``vaxops.accounts.roles``)."""

# Everyone who books, runs a desk or oversees the campaign sees the sites and their sessions.
_SEE = ("sites.view_site", "sites.view_session")
# The registration desk runs its site's session: the "四有" checklist, desk assignments, opening.
_RUN = _SEE + (
    "sites.change_session",
    "sites.add_readinesscheck",
    "sites.add_assignment",
    "sites.view_staffmember",
)

GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": _SEE
    + tuple(
        f"sites.{verb}_{model}"
        for model in (
            "site",
            "desk",
            "openinghours",
            "hoursexception",
            "staffmember",
            "certificate",
            "session",
            "readinesscheck",
            "assignment",
        )
        for verb in ("view", "add", "change")
    ),
    "township_worker": _SEE + ("sites.add_session",),
    "village_worker": _SEE,
    "employer_contact": _SEE,
    "site_registration": _RUN,
    "site_screening": _SEE,
    "site_vaccinator": _SEE,
    "site_observation": _SEE,
    "auditor": _SEE,
    "leader": _SEE,
}

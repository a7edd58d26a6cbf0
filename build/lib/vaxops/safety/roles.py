"""What each role may do with reports of suspected adverse events, hospitals, lot holds, signals and claims
(assembled into groups by ``vaxops.accounts.roles``). Health details of a case (``view_health_details``) go
only to the roles that handle it: the site, the hospital, the county CDC and the expert panel; the leader
sees counts."""

_HEALTH = ("safety.view_adverseeventreport", "safety.view_health_details")
_SITE = _HEALTH + ("safety.add_adverseeventreport",)

GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": _SITE
    + (
        "safety.change_adverseeventreport",
        "safety.investigate_adverseeventreport",
        "safety.view_hospital",
        "safety.add_hospital",
        "safety.change_hospital",
        "safety.add_sitepairing",
        "safety.change_sitepairing",
        "safety.view_hospitalcase",
        "safety.add_hospitalcase",
        "safety.view_lothold",
        "safety.change_lothold",
        "safety.view_safetysignal",
        "safety.change_safetysignal",
        "safety.view_backgroundrate",
        "safety.change_backgroundrate",
        "safety.view_claim",
        "safety.add_claim",
        "safety.change_claim",
        "safety.view_expert",
        "safety.add_expert",
        "safety.view_safety_counts",
    ),
    "site_observation": _SITE + ("safety.add_hospitalcase",),
    "site_vaccinator": _SITE,
    "site_registration": _SITE,
    "hospital": _SITE + ("safety.view_hospitalcase", "safety.change_hospitalcase"),
    "safety_panel": _HEALTH
    + (
        "safety.classify_adverseeventreport",
        "safety.view_expert",
        "safety.view_lothold",
        "safety.view_safetysignal",
    ),
    "leader": ("safety.view_safety_counts",),
    "auditor": ("safety.view_safety_counts",),
}

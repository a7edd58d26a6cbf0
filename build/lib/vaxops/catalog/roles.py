"""Who may read and edit the catalogue, schedules, phases and question sets (assembled into groups by
``vaxops.accounts.roles``)."""

_READ = (
    "catalog.view_product",
    "catalog.view_schedulepolicy",
    "catalog.view_phase",
    "catalog.view_questionset",
)
# The county planner edits policy as data in the admin; products are never deleted (doses refer to them).
_EDIT = (
    "catalog.add_product",
    "catalog.change_product",
    *(
        f"catalog.{verb}_{model}"
        for model in (
            "traceprefix",
            "schedulepolicy",
            "policyinterval",
            "phase",
            "phasetarget",
            "questionset",
            "question",
        )
        for verb in ("view", "add", "change", "delete")
    ),
)

GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": _READ + _EDIT,
    "township_worker": _READ,
    "village_worker": _READ,
    "employer_contact": _READ,
    "site_screening": _READ,
    "site_registration": _READ,
    "site_vaccinator": _READ,
    "site_observation": _READ,
    "auditor": _READ,
}

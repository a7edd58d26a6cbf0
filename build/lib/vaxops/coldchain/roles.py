"""What each role may do with cold-chain equipment, readings and excursions."""

_VIEW = ("coldchain.view_equipment", "coldchain.view_reading", "coldchain.view_excursion")
# The keepers of units at township stores and sites log readings and acknowledge excursions.
_KEEPER = _VIEW + ("coldchain.add_reading", "coldchain.acknowledge_excursion")

GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": _KEEPER
    + (
        "coldchain.add_equipment",
        "coldchain.change_equipment",
        "coldchain.assess_excursion",
        "coldchain.change_excursion",
    ),
    "township_worker": _KEEPER,
    "site_registration": _KEEPER,
    "auditor": _VIEW,
    "leader": ("coldchain.view_equipment", "coldchain.view_excursion"),
}

"""Who may do what with the monthly settlement (assembled into groups by ``vaxops.accounts.roles``): the county
CDC and the county medical-insurance office (县医保) keep the rules and prices and run the months; the office
approves and records payments; the finance bureau (县财政) reads the subsidy summary; a site reads and
confirms its own statements; the auditor reads everything."""

_READ = ("settlement.view_settlement", "settlement.view_settlementline")
_RULES = (
    "settlement.view_settlementrule",
    "settlement.add_settlementrule",
    "settlement.change_settlementrule",
    "settlement.view_vaccineprice",
    "settlement.add_vaccineprice",
    "settlement.change_vaccineprice",
    "settlement.view_lotprice",
    "settlement.add_lotprice",
    "settlement.change_lotprice",
)
_COUNTY = _READ + ("settlement.view_county_settlement", "settlement.view_subsidy")

GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": _COUNTY + _RULES + ("settlement.run_settlement",),
    "medical_insurance": _COUNTY + _RULES + ("settlement.run_settlement", "settlement.approve_settlement"),
    "finance": ("settlement.view_subsidy",),
    "leader": ("settlement.view_subsidy",),
    "site_registration": _READ + ("settlement.confirm_settlement",),
    "site_vaccinator": _READ,
    "auditor": _COUNTY
    + ("settlement.view_settlementrule", "settlement.view_vaccineprice", "settlement.view_lotprice"),
}

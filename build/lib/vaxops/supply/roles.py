"""What each role may do with stock, dispatches and allocation (assembled into groups by
``vaxops.accounts.roles``)."""

_MODELS = (
    "stockplace",
    "coldchainunit",
    "lot",
    "tracecode",
    "stockmovement",
    "stockbalance",
    "dispatch",
    "stockcount",
    "allocationrun",
)
# Township stores and sites receive dispatches, record wastage and count their own stock (scoped to their places).
_LOCAL = (
    "supply.view_stockplace",
    "supply.view_lot",
    "supply.view_tracecode",
    "supply.view_stockbalance",
    "supply.view_dispatch",
    "supply.change_dispatch",
    "supply.add_stockmovement",
    "supply.add_stockcount",
    "supply.view_stockcount",
)

GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": tuple(
        f"supply.{verb}_{model}" for model in _MODELS for verb in ("view", "add", "change")
    ),
    "township_worker": _LOCAL + ("supply.add_dispatch",),
    "site_registration": _LOCAL,
    "site_vaccinator": ("supply.view_lot", "supply.view_tracecode"),
    "auditor": tuple(f"supply.view_{model}" for model in _MODELS),
    "leader": ("supply.view_stockplace", "supply.view_stockbalance", "supply.view_allocationrun"),
}

"""What each role may do with field operations (assembled into groups by ``vaxops.accounts.roles``)."""

_TRAIN = tuple(
    f"field.{verb}_{model}"
    for model in ("course", "coursesession", "trainee")
    for verb in ("view", "add", "change")
)
_TRIPS = ("field.view_teamtrip", "field.add_teamtrip", "field.change_teamtrip")

_GRID_SEE = ("field.view_followuplist",)
_GRID_ASSIGN = _GRID_SEE + ("field.add_followuplist",)
_GRID_FOLLOW = _GRID_SEE + ("field.add_followup",)

GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": _TRAIN + _TRIPS + _GRID_ASSIGN,
    "township_worker": _TRAIN + _TRIPS + _GRID_ASSIGN,
    "village_worker": _GRID_ASSIGN + ("field.add_followup",),
    "grid_head": _GRID_FOLLOW,
    "leader": ("field.view_course", "field.view_trainee"),
    "auditor": ("field.view_course", "field.view_trainee", "field.view_teamtrip"),
}

"""What each role may do with field operations (assembled into groups by ``vaxops.accounts.roles``)."""

_TRAIN = tuple(
    f"field.{verb}_{model}"
    for model in ("course", "coursesession", "trainee")
    for verb in ("view", "add", "change")
)
_TRIPS = ("field.view_teamtrip", "field.add_teamtrip", "field.change_teamtrip")

GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": _TRAIN + _TRIPS,
    "township_worker": _TRAIN + _TRIPS,
    "leader": ("field.view_course", "field.view_trainee"),
    "auditor": ("field.view_course", "field.view_trainee", "field.view_teamtrip"),
}

"""Mobilisation lists (应接尽接 / 补种): who is due, overdue, not started… in the user's scope, on a day."""

from datetime import date

from django.db.models import Count, Q, QuerySet

from vaxops.accounts.scope import scope_for
from vaxops.catalog.domain import MobilisationCategory as C
from vaxops.catalog.domain import Status, add_years
from vaxops.registry.models import Resident

LABELS = {
    C.NOT_STARTED: "应种未种（可接种第1剂）",
    C.DOSE_DUE: "后续剂次到期",
    C.OVERDUE: "逾期未种（补种）",
    C.BOOSTER_DUE: "可接种加强针",
    C.NOT_YET_DUE: "未到接种时间",
    C.DEFERRED: "暂缓接种",
    C.CONTRAINDICATED: "接种禁忌",
    C.COMPLETE: "已完成",
}
LIST_CATEGORIES = (C.NOT_STARTED, C.DOSE_DUE, C.OVERDUE, C.BOOSTER_DUE)


def category_q(category: str, on: date, prefix: str = "status__") -> Q:
    """The SQL condition equivalent to ``domain.mobilisation_category(forecast, on) == category``.

    It mirrors that function branch by branch (contraindicated → complete →
    deferred → not yet due → first dose → overdue → booster → dose due); a
    test checks the two agree person by person.
    """
    f = lambda name: prefix + name  # noqa: E731
    contraindicated = Q(**{f("contraindicated"): True})
    # A person with no stored status yet (no birth date, or not computed yet) is on no list:
    # every branch requires a row (negations of NULL comparisons would otherwise let them in).
    has = Q(**{f("computed_on__isnull"): False})
    complete = Q(**{f("next_number__isnull"): True})
    deferred = Q(**{f("status"): Status.DEFERRED.value}) & (
        Q(**{f("deferred_until__isnull"): True}) | Q(**{f("deferred_until__gt"): on})
    )
    later = Q(**{f("next_earliest__gt"): on})
    first = Q(**{f("next_number"): 1})
    overdue = Q(**{f("window_missed"): True}) | Q(**{f("next_latest__lt"): on})
    booster = Q(**{f("next_is_booster"): True})
    base = has & ~contraindicated & ~complete & ~deferred
    match C(category):
        case C.CONTRAINDICATED:
            return has & contraindicated
        case C.COMPLETE:
            return has & ~contraindicated & (complete | (~deferred & later & booster))
        case C.DEFERRED:
            return has & ~contraindicated & ~complete & deferred
        case C.NOT_YET_DUE:
            return base & later & ~booster
        case C.NOT_STARTED:
            return base & ~later & first
        case C.OVERDUE:
            return base & ~later & ~first & overdue
        case C.BOOSTER_DUE:
            return base & ~later & ~first & ~overdue & booster
        case C.DOSE_DUE:
            return base & ~later & ~first & ~overdue & ~booster


def mobilisation_list(
    *, user, category: str, on: date, village_code: str = "", employer_id: int | None = None, phase=None
) -> QuerySet[Resident]:
    """Residents in the user's scope on this list on ``on`` (optionally one village/employer, one phase's people).

    ``phase`` (a catalog.domain.Phase) narrows "not started" to the people the phase admits on ``on``:
    its priority groups and age range.
    """
    if not user.has_perm("registry.view_resident"):
        return Resident.objects.none()
    qs = scope_for(user).filter(Resident.objects.all()).filter(category_q(category, on))
    code = village_code.strip()
    if code.isdigit() and len(code) in (9, 12):
        qs = qs.filter(village_code__gte=code.ljust(12, "0"), village_code__lte=code.ljust(12, "9"))
    if employer_id:
        qs = qs.filter(employer_id=employer_id)
    if phase is not None:
        if phase.priority_groups:
            qs = qs.filter(priority_group__code__in=phase.priority_groups)
        if phase.min_age is not None:
            qs = qs.filter(birth_date__lte=add_years(on, -phase.min_age))
        if phase.max_age is not None:
            qs = qs.filter(birth_date__gt=add_years(on, -(phase.max_age + 1)))
    return qs.select_related("status").order_by("village_code", "status__next_earliest", "id")


def mobilisation_counts(
    *, user, on: date, village_code: str = "", employer_id: int | None = None
) -> dict[str, int]:
    """How many people are on each list (for the tabs), in scope, in one pass over the table."""
    if not user.has_perm("registry.view_resident"):
        return {c.value: 0 for c in C} | {"unknown": 0}
    qs = scope_for(user).filter(Resident.objects.all())
    code = village_code.strip()
    if code.isdigit() and len(code) in (9, 12):
        qs = qs.filter(village_code__gte=code.ljust(12, "0"), village_code__lte=code.ljust(12, "9"))
    if employer_id:
        qs = qs.filter(employer_id=employer_id)
    return qs.aggregate(
        **{c.value: Count("id", filter=category_q(c, on)) for c in C},
        unknown=Count("id", filter=Q(status__isnull=True)),
    )

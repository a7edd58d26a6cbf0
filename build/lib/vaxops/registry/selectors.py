"""Reads of the resident registry; every function is scoped to what the user may see."""

from django.db.models import Count, QuerySet
from django.db.models.functions import Length
from django.utils.translation import gettext as _

from vaxops.accounts.scope import require, scope_for
from vaxops.core.errors import NotFound
from vaxops.jurisdictions.models import PREFIX_LENGTH, Division, Level

from . import domain
from .errors import RegistryErrorCode
from .models import Employer, ImportJob, Resident


def residents_visible(*, user) -> QuerySet[Resident]:
    """Every resident the user may see (nothing, for a user without ``view_resident``)."""
    if not user.has_perm("registry.view_resident"):
        return Resident.objects.none()
    return scope_for(user).filter(Resident.objects.all())


def residents_search(
    *, user, q: str = "", village_code: str = "", willingness: str = "", priority_group: str = ""
) -> QuerySet[Resident]:
    """Residents in scope matching a name fragment or a masked ID (``110105********002X``),

    never a full ID number or phone: those need ``resident_find_by_document`` and a purpose.
    """
    qs = residents_visible(user=user).select_related("priority_group")
    q = (q or "").strip()
    if q:
        masked = domain.parse_masked_query(q)
        if masked is not None:
            prefix, suffix = masked
            text = domain.normalise_text(q)
            visible = len(prefix) + len(suffix)
            if text.count("*") == 1:
                # "110105*002X": the star stands for the hidden middle, which must
                # still hide at least four characters of the stored number.
                shown, length_q = (6, 4), {"id_length__gte": visible + 4}
            else:
                # "110105********002X": one star per hidden character.
                shown = (6, 4) if len(text) >= 15 else (2, 2)  # what mask_id shows for that length
                length_q = {"id_length": len(text)}
            if len(prefix) > shown[0] or len(suffix) > shown[1]:
                # More than the masked form shows would be a full-number lookup
                # without a purpose; that goes through resident_find_by_document.
                return Resident.objects.none()
            qs = qs.annotate(id_length=Length("id_number")).filter(
                id_number__startswith=prefix, id_number__endswith=suffix, **length_q
            )
        else:
            qs = qs.filter(name__startswith=q) if len(q) == 1 else qs.filter(name__contains=q)
    if village_code:
        code = village_code.strip().ljust(12, "0") if village_code.strip().isdigit() else ""
        if len(village_code.strip()) == 12:
            qs = qs.filter(village_code=code)
        elif len(village_code.strip()) == 9:
            qs = qs.filter(village_code__gte=code, village_code__lte=village_code.strip().ljust(12, "9"))
    if willingness:
        qs = qs.filter(willingness=willingness)
    if priority_group:
        qs = qs.filter(priority_group__code=priority_group)
    return qs.order_by("village_code", "name", "id")


def resident_get(*, user, resident_id: int) -> Resident:
    """One resident in scope; raises NotFound (the same message whether absent or out of scope)."""
    resident = (
        residents_visible(user=user)
        .select_related("priority_group", "employer", "village")
        .filter(pk=resident_id)
        .first()
    )
    if resident is None:
        raise NotFound(_("居民不存在或不在您的管辖范围内"), code=RegistryErrorCode.RESIDENT_NOT_FOUND)
    return resident


def resident_statistics(*, user) -> dict:
    """Counts in scope: total, by willingness, by priority group, by child area of the user's node."""
    if not (user.has_perm("registry.view_resident") or user.has_perm("registry.view_statistics")):
        require(user, "registry.view_statistics")
    qs = scope_for(user).filter(Resident.objects.all())
    by_willingness = dict(qs.values_list("willingness").annotate(n=Count("id")).order_by())
    by_group = list(
        qs.values("priority_group__code", "priority_group__name_zh").annotate(n=Count("id")).order_by("-n")
    )
    return {
        "by_area": _by_child_area(user, qs),
        "total": sum(by_willingness.values()),
        "by_willingness": by_willingness,
        "by_group": by_group,
    }


def _by_child_area(user, qs) -> list[dict]:
    """Counts rolled up to the children of the user's node (a county user sees townships, …)."""
    from django.db.models.functions import Substr

    division = getattr(user, "division", None)
    level = division.level if division is not None and not user.employer_id else Level.CITY
    if level >= Level.VILLAGE:
        return []
    n = PREFIX_LENGTH[Level(level + 1)]
    rows = (
        qs.annotate(area=Substr("village_code", 1, n)).values("area").annotate(n=Count("id")).order_by("area")
    )
    names = dict(
        Division.objects.filter(code__in=[r["area"].ljust(12, "0") for r in rows]).values_list("code", "name")
    )
    return [
        {"code": r["area"], "name": names.get(r["area"].ljust(12, "0"), r["area"]), "n": r["n"]} for r in rows
    ]


def villages_visible(*, user, limit: int = 500) -> QuerySet[Division]:
    """The villages (村/社区) within the user's jurisdiction, by code, at most ``limit`` (none for a user
    scoped to an employer)."""
    scope = scope_for(user)
    qs = Division.objects.filter(level=Level.VILLAGE)
    if not scope.unrestricted:
        if scope.code_low is None:
            return Division.objects.none()
        qs = qs.filter(code__gte=scope.code_low, code__lte=scope.code_high)
    return qs.order_by("code")[:limit]


def import_jobs_of(*, user, employer_code: str | None = None) -> QuerySet[ImportJob]:
    """The census imports ``user`` started (a job is its starter's), newest first; with ``employer_code``,
    only that employer's staff lists."""
    qs = ImportJob.objects.filter(created_by=user)
    if employer_code is not None:
        qs = qs.filter(employer_code=employer_code)
    return qs


def employers_in_scope(*, user) -> list[Employer] | QuerySet[Employer]:
    """Employers a division user may pick (their jurisdiction's); none for an employer contact (scoped already)."""
    scope = scope_for(user)
    if scope.employer_id is not None:
        return Employer.objects.none()
    qs = Employer.objects.select_related("division").order_by("name")
    if scope.unrestricted:
        return qs
    if scope.code_low is None:
        return Employer.objects.none()
    # An employer registered at the county serves the whole county; a user below it sees those too.
    return [e for e in qs if scope.covers_code(e.division.code) or e.division.contains(scope.code_low)]

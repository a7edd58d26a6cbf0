from django.db.models import QuerySet

from .models import PREFIX_LENGTH, Division, Level


def normalise_code(code: str) -> str:
    """A 2/4/6/9/12-digit code padded to 12 digits (raises ValueError if not digits)."""
    code = code.strip()
    if not code.isdigit() or len(code) not in (2, 4, 6, 9, 12):
        raise ValueError(f"区划代码应为2、4、6、9或12位数字：{code}")
    return code.ljust(12, "0")


def division_get(*, code: str) -> Division | None:
    """The node with this code (any of its lengths), or None."""
    try:
        return Division.objects.get(code=normalise_code(code))
    except (ValueError, Division.DoesNotExist):
        return None


def divisions_within(*, root: Division, level: int | None = None) -> QuerySet[Division]:
    """Every node in ``root``'s subtree (``root`` included), optionally of one level."""
    low, high = root.code_range
    qs = Division.objects.filter(code__gte=low, code__lte=high, level__gte=root.level)
    if level is not None:
        qs = qs.filter(level=level)
    return qs


def ancestors(division: Division) -> list[Division]:
    """The chain from the province down to ``division``'s parent (nearest last)."""
    codes = [division.code[:n].ljust(12, "0") for lvl, n in PREFIX_LENGTH.items() if lvl < division.level]
    return list(Division.objects.filter(code__in=codes).order_by("level"))


LEVEL_BY_NAME = {
    "province": Level.PROVINCE,
    "city": Level.CITY,
    "county": Level.COUNTY,
    "township": Level.TOWNSHIP,
    "village": Level.VILLAGE,
}


def divisions_listed(*, level: int | None = None, within: str | None = None) -> QuerySet[Division]:
    """Every node (codes are public, so not scoped), optionally of one level, optionally within the node with
    code ``within`` (none when there is no such node), by code."""
    qs = Division.objects.all()
    if within:
        root = division_get(code=within)
        qs = divisions_within(root=root) if root else Division.objects.none()
    if level is not None:
        qs = qs.filter(level=level)
    return qs.order_by("code")

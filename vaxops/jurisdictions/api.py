from ninja import Router, Schema

from .models import Division
from .selectors import LEVEL_BY_NAME, division_get, divisions_within

router = Router(tags=["jurisdictions"])
_NAMES = {v: k for k, v in LEVEL_BY_NAME.items()}


class DivisionOut(Schema):
    code: str
    name: str
    level: str
    parent_code: str | None


@router.get("", response=list[DivisionOut], summary="行政区划节点 / division nodes")
def list_divisions(request, level: str | None = None, within: str | None = None):
    """Nodes (optionally of one level, optionally within a node); codes are public, so not scoped."""
    qs = Division.objects.all()
    if within:
        root = division_get(code=within)
        qs = divisions_within(root=root) if root else Division.objects.none()
    if level in LEVEL_BY_NAME:
        qs = qs.filter(level=LEVEL_BY_NAME[level])
    return [
        {"code": c, "name": n, "level": _NAMES[lv], "parent_code": p}
        for c, n, lv, p in qs.order_by("code").values_list("code", "name", "level", "parent__code")[:5000]
    ]

from ninja import Router, Schema

from .selectors import LEVEL_BY_NAME, divisions_listed

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
    qs = divisions_listed(level=LEVEL_BY_NAME.get(level or ""), within=within)
    return [
        {"code": c, "name": n, "level": _NAMES[lv], "parent_code": p}
        for c, n, lv, p in qs.values_list("code", "name", "level", "parent__code")[:5000]
    ]

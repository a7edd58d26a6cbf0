"""The population table's columns (CSV in UTF-8 or GBK, or XLSX), read by the census reader."""

from typing import BinaryIO

from vaxops.core.errors import ValidationFailed
from vaxops.core.uploads import ImportLimits
from vaxops.registry.tables import Table, aliases_for, open_table

from .errors import ReportsErrorCode

COLUMNS: dict[str, tuple[str, ...]] = {
    "division": ("区划代码", "行政区划代码", "统计用区划代码", "division", "code"),
    "name": ("区划名称", "名称", "name"),
    "year": ("年份", "统计年度", "year"),
    "kind": ("人口口径", "口径", "kind"),
    "group": ("人群分类", "重点人群", "人群分类代码", "group"),
    "total": ("总人口", "人口数", "total"),
    "age_18_plus": ("18岁及以上", "18岁及以上人口", "18+", "age_18_plus"),
    "age_60_plus": ("60岁及以上", "60岁及以上人口", "60+", "age_60_plus"),
}
LABELS = {key: aliases[0] for key, aliases in COLUMNS.items()}
REQUIRED = ("division", "year", "kind", "total", "age_18_plus", "age_60_plus")
# A table with the 人群分类 column may hold priority groups' counts only: the kind and age columns are then
# needed only by its rows without a group.
REQUIRED_WITH_GROUP = ("division", "year", "total")
TEMPLATE_HEADERS = [
    LABELS[k] for k in ("division", "name", "year", "kind", "total", "age_18_plus", "age_60_plus")
]
_ALIASES = aliases_for(COLUMNS)


def population_table_open(
    stream: BinaryIO, *, size: int = 0, filename: str = "", limits: ImportLimits | None = None
) -> Table:
    """Open a population file; refuses one without the required columns, naming them."""
    table = open_table(stream, size=size, filename=filename, aliases=_ALIASES, limits=limits)
    required = REQUIRED_WITH_GROUP if "group" in table.columns else REQUIRED
    missing = [LABELS[k] for k in required if k not in table.columns]
    if missing:
        raise ValidationFailed(
            "缺少必需的列："
            + "、".join(missing)
            + "（表头：区划代码、年份、人口口径、总人口、18岁及以上、60岁及以上；重点人群人数另加“人群分类”列）",
            field="file",
            code=ReportsErrorCode.POPULATION_COLUMNS_MISSING,
        )
    return table

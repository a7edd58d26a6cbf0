"""Reading receipt files of traceability codes (CSV in UTF-8 or GBK, XLSX) with their own headers.

The census reader (``registry.tables.open_table``) does the reading (encoding detection, delimiter, XLSX in
read-only mode, row numbering, progress); this module gives it the columns of a receipt.
"""

from typing import BinaryIO

from django.utils.translation import gettext as _

from vaxops.core.errors import ValidationFailed
from vaxops.core.uploads import ImportLimits
from vaxops.registry.errors import RegistryErrorCode
from vaxops.registry.tables import Table, aliases_for, open_table

COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("追溯码", "疫苗追溯码", "code"),
    "lot": ("批号", "lot", "lot_number"),
    "product": ("疫苗品种", "产品", "品种", "product"),
    "expiry": ("有效期至", "有效期", "expiry"),
    "package": ("包装码", "上级码", "箱码", "盒码", "package", "parent"),
}
LABELS = {key: aliases[0] for key, aliases in COLUMNS.items()}
REQUIRED = ("code", "lot", "product", "expiry")
_ALIASES = aliases_for(COLUMNS)


def check_required(table: Table) -> None:
    missing = [LABELS[k] for k in REQUIRED if k not in table.columns]
    if missing:
        raise ValidationFailed(
            _(
                "缺少必需的列：%(missing)s（表头可用中文或英文：追溯码/code、批号/lot、疫苗品种/product、有效期至/expiry）"
            )
            % {"missing": "、".join(missing)},
            code=RegistryErrorCode.FILE_COLUMNS_MISSING,
        )


def codes_table_open(
    stream: BinaryIO, *, size: int = 0, filename: str = "", limits: ImportLimits | None = None
) -> Table:
    """Open a receipt file (limits as for a census file). Raises ValidationFailed when the file itself cannot be
    read."""
    return open_table(stream, size=size, filename=filename, aliases=_ALIASES, limits=limits)

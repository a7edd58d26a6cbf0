"""Reading receipt files of traceability codes (CSV in UTF-8 or GBK, XLSX) with their own headers.

The census reader (``registry.tables``) knows only census headers, so the file is opened here with the
same rules (encoding detection, delimiter, XLSX in read-only mode) and mapped to the columns of a receipt.
The result is a ``registry.tables.Table``, so progress and row numbering work the same way.
"""

import csv
import io
from collections.abc import Iterator
from typing import BinaryIO

from vaxops.core.errors import ValidationFailed
from vaxops.registry.tables import Table, _detect_encoding, normalise_header

COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("追溯码", "疫苗追溯码", "code"),
    "lot": ("批号", "lot", "lot_number"),
    "product": ("疫苗品种", "产品", "品种", "product"),
    "expiry": ("有效期至", "有效期", "expiry"),
}
LABELS = {key: aliases[0] for key, aliases in COLUMNS.items()}
REQUIRED = ("code", "lot", "product", "expiry")
_ALIASES = {normalise_header(a): key for key, aliases in COLUMNS.items() for a in aliases}


def _map(headers: list) -> tuple[dict[str, int], dict[str, str]]:
    columns: dict[str, int] = {}
    labels: dict[str, str] = {}
    for i, h in enumerate(headers):
        key = _ALIASES.get(normalise_header(h))
        if key and key not in columns:
            columns[key] = i
            labels[key] = str(h).strip()
    return columns, labels


def check_required(table: Table) -> None:
    missing = [LABELS[k] for k in REQUIRED if k not in table.columns]
    if missing:
        raise ValidationFailed("缺少必需的列：" + "、".join(missing) + "（表头可用中文或英文：追溯码/code、批号/lot、"
                               "疫苗品种/product、有效期至/expiry）")


def codes_table_open(stream: BinaryIO, *, size: int = 0, filename: str = "") -> Table:
    """Open a receipt file. Raises ValidationFailed when the file itself cannot be read."""
    head = stream.read(4)
    stream.seek(0)
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(stream)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationFailed("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后再导入")
    if filename.lower().endswith((".xlsx", ".xls", ".pdf", ".doc", ".docx")):
        raise ValidationFailed(f"文件“{filename}”不是有效的 XLSX 文件")
    return _open_csv(stream, size=size)


def _open_csv(stream: BinaryIO, *, size: int) -> Table:
    sample = stream.read(1 << 16)
    stream.seek(0)
    if b"\x00" in sample:
        raise ValidationFailed("文件不是文本格式的 CSV，也不是 XLSX，无法读取")
    text = io.TextIOWrapper(stream, encoding=_detect_encoding(sample), errors="strict", newline="")
    first_line = sample.split(b"\n", 1)[0]
    reader = csv.reader(text, delimiter="\t" if first_line.count(b"\t") > first_line.count(b",") else ",")
    try:
        headers = next(reader)
    except StopIteration:
        raise ValidationFailed("文件为空，没有表头") from None
    except UnicodeDecodeError:
        raise ValidationFailed("无法识别文件编码，请保存为 UTF-8 或 GBK 编码的 CSV") from None
    columns, labels = _map(headers)

    def rows() -> Iterator[tuple[int, list]]:
        line = 1
        try:
            for values in reader:
                line += 1
                yield line, values
        except UnicodeDecodeError:
            raise ValidationFailed(f"第{line + 1}行附近含有无法识别的字符（文件编码应为 UTF-8 或 GBK）") from None

    def position() -> int:
        return size if stream.closed else stream.tell()

    return Table(columns=columns, header_labels=labels, rows=rows(), size=size, position=position, keep=text,
                 position_is_bytes=True)


def _open_xlsx(stream: BinaryIO) -> Table:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(stream, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for a broken file
        raise ValidationFailed(f"XLSX 文件已损坏或无法读取：{e}") from None
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    try:
        headers = list(next(it))
    except StopIteration:
        raise ValidationFailed("工作表为空，没有表头") from None
    columns, labels = _map(headers)
    state = {"row": 1}

    def rows() -> Iterator[tuple[int, list]]:
        for values in it:
            state["row"] += 1
            yield state["row"], list(values)
        wb.close()

    return Table(columns=columns, header_labels=labels, rows=rows(), size=ws.max_row or 0,
                 position=lambda: state["row"])

"""Reading census tables (CSV in UTF-8 or GBK, XLSX) row by row in constant memory."""

import codecs
import contextlib
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.utils.translation import gettext as _

from vaxops.core.errors import CoreErrorCode, ValidationFailed
from vaxops.core.uploads import ImportLimits, check_xlsx_archive, rows_refusal

from .errors import RegistryErrorCode

# A cell longer than this is a file error (the csv module's own guard); below it, a cell longer than
# VAXOPS_IMPORT_MAX_CELL_CHARS is a row error naming the column.
CSV_FIELD_LIMIT = 16 * 1024 * 1024
# Columns read from an XLSX: a census has 15, a receipt 5; a sheet declaring 16,384 would pad every row.
XLSX_MAX_COLUMNS = 200

# Canonical field → accepted headers (compared after normalise_header).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "name"),
    "id_type": ("证件类型", "id_type"),
    "id_number": ("证件号码", "身份证号码", "身份证号", "id_number"),
    "sex": ("性别", "sex"),
    "birth_date": ("出生日期", "birth_date"),
    "phone": ("手机号码", "手机号", "联系电话", "phone"),
    "address": ("现住址", "住址", "address"),
    "village_code": ("村(社区)代码", "村代码", "社区代码", "village_code"),
    "employer": ("工作单位", "employer"),
    "occupation": ("职业", "occupation"),
    "priority_group": ("人群分类", "priority_group"),
    "chronic_conditions": ("慢性病", "基础疾病", "chronic_conditions"),
    "pregnant": ("是否妊娠", "妊娠", "pregnant"),
    "willingness": ("接种意愿", "willingness"),
    "willingness_reason": ("意愿原因", "不愿接种原因", "willingness_reason"),
}
TEMPLATE_HEADERS = [
    "姓名",
    "证件类型",
    "证件号码",
    "性别",
    "出生日期",
    "手机号码",
    "现住址",
    "村(社区)代码",
    "工作单位",
    "职业",
    "人群分类",
    "慢性病",
    "是否妊娠",
    "接种意愿",
    "意愿原因",
]
REQUIRED = ("name", "id_number", "village_code")
LABELS = {key: aliases[0] for key, aliases in COLUMNS.items()}


def normalise_header(text: object) -> str:
    s = str(text or "").strip().replace("（", "(").replace("）", ")").replace(" ", "").replace("\u3000", "")
    return s.lstrip("\ufeff").lower()


_ALIASES = {normalise_header(a): key for key, aliases in COLUMNS.items() for a in aliases}


@dataclass
class Table:
    """An open census table: ``columns`` maps canonical field → column index; ``header_labels`` keeps the file's own words."""

    columns: dict[str, int]
    header_labels: dict[str, str]
    rows: Iterator[tuple[int, list]]
    size: int = 0
    position: object = field(default=lambda: 0)
    # Keeps a text wrapper alive as long as the table: when a TextIOWrapper is
    # collected it closes the file under it, and progress still asks for tell().
    keep: object = None
    position_is_bytes: bool = False  # CSV: size/position in bytes; XLSX and generated rows: in rows
    headers: list[str] = field(default_factory=list)  # the file's header row as written
    max_cell_chars: int | None = None

    def done(self) -> int:
        return int(self.position())

    def oversized(self, values: list) -> list[tuple[str, int]]:
        """(column header, length) of each cell longer than ``max_cell_chars``; usually ``[]``, cheaply."""
        limit = self.max_cell_chars
        if limit is None:
            return []
        lengths = [len(v) if isinstance(v, str) else 0 for v in values]
        if max(lengths, default=0) <= limit:
            return []
        return [
            (self.headers[i] if i < len(self.headers) and self.headers[i] else f"第{i + 1}列", n)
            for i, n in enumerate(lengths)
            if n > limit
        ]


def aliases_for(columns: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Normalised header → canonical field, for ``open_table(aliases=…)``."""
    return {normalise_header(a): key for key, names in columns.items() for a in names}


def _map_headers(
    headers: list, aliases: dict[str, str] | None = None
) -> tuple[dict[str, int], dict[str, str], list[str]]:
    aliases = aliases or _ALIASES
    columns: dict[str, int] = {}
    labels: dict[str, str] = {}
    for i, h in enumerate(headers):
        key = aliases.get(normalise_header(h))
        if key and key not in columns:
            columns[key] = i
            labels[key] = str(h).strip()
    return columns, labels, [str(h) for h in headers]


def _detect_encoding(head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    # A multi-byte character may be cut at the end of the sample; try shorter.
    for cut in range(0, 4):
        try:
            (head[: len(head) - cut] if cut else head).decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError as e:
            if e.start < len(head) - 4:
                break
    return "gb18030"  # a superset of GBK and GB2312


def open_table(
    stream: BinaryIO,
    *,
    size: int = 0,
    filename: str = "",
    aliases: dict[str, str] | None = None,
    limits: ImportLimits | None = None,
) -> Table:
    """Open ``stream`` as XLSX or CSV. Raises ValidationFailed when the file itself cannot be read.

    ``aliases`` (from ``aliases_for``) maps headers to fields; the default is the census columns.
    ``limits`` default to the settings (``core.uploads``). Everything that would make the whole file unusable
    is checked here, before a row is handed out: a CSV's encoding over the whole file (so a bad byte at line
    3,002 refuses the file, naming that line, with nothing written), its number of rows, an XLSX's inflated
    size and compression ratio, its declared number of rows.
    """
    limits = limits or ImportLimits.from_settings()
    head = stream.read(4)
    stream.seek(0)
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(stream, size=size, aliases=aliases, limits=limits)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationFailed(
            _("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后再导入"),
            code=RegistryErrorCode.FILE_XLS_UNSUPPORTED,
        )
    if filename.lower().endswith((".xlsx", ".xls", ".pdf", ".doc", ".docx")):
        raise ValidationFailed(
            _("文件“%(filename)s”不是有效的 XLSX 文件") % {"filename": filename},
            code=RegistryErrorCode.FILE_NOT_XLSX,
        )
    return _open_csv(stream, size=size, aliases=aliases, limits=limits)


def _scan_text(stream: BinaryIO, encoding: str) -> int:
    """Decode the whole file in chunks (constant memory) and count its lines; leaves the stream at its start.

    Raises UnicodeDecodeError with ``line`` set to the line of the first byte that cannot be decoded.
    """
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines = 0
    last = b""
    try:
        while chunk := stream.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                e.line = lines + bytes(e.object[: e.start]).count(b"\n") + 1
                raise
            lines += chunk.count(b"\n")
            last = chunk[-1:]
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as e:
            e.line = lines + (0 if last == b"\n" else 1)
            raise
    finally:
        stream.seek(0)
    return lines + (1 if last and last != b"\n" else 0)


def _open_csv(stream: BinaryIO, *, size: int, aliases: dict[str, str] | None, limits: ImportLimits) -> Table:
    sample = stream.read(1 << 16)
    stream.seek(0)
    if b"\x00" in sample:
        raise ValidationFailed(
            _("文件不是文本格式的 CSV，也不是 XLSX，无法读取"), code=RegistryErrorCode.FILE_UNREADABLE
        )
    encoding = _detect_encoding(sample)
    try:
        lines = _scan_text(stream, encoding)
    except UnicodeDecodeError as e:
        bad_line = e.line
        lines = None
    if lines is None and encoding == "utf-8" and sample.isascii():
        # The sample was plain ASCII, so it could not tell UTF-8 from GBK: the whole file may be GBK.
        with contextlib.suppress(UnicodeDecodeError):
            lines, encoding = _scan_text(stream, "gb18030"), "gb18030"
    if lines is None:
        raise ValidationFailed(
            _(
                "第%(bad_line)s行含有无法识别的字符（文件编码应为 UTF-8 或 GBK）；整个文件未导入，请修正该行或另存为 UTF-8 编码的 CSV 后重新导入"
            )
            % {"bad_line": bad_line},
            code=RegistryErrorCode.FILE_ENCODING_INVALID,
        )
    refusal = rows_refusal(lines - 1, limits)
    if refusal:
        raise ValidationFailed(refusal, code=RegistryErrorCode.FILE_TOO_MANY_ROWS)
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    text = io.TextIOWrapper(stream, encoding=encoding, errors="strict", newline="")
    first_line = sample.split(b"\n", 1)[0]
    delimiter = "\t" if first_line.count(b"\t") > first_line.count(b",") else ","
    reader = csv.reader(text, delimiter=delimiter)
    try:
        headers = next(reader)
    except StopIteration:
        raise ValidationFailed(_("文件为空，没有表头"), code=RegistryErrorCode.FILE_NO_HEADER) from None
    except UnicodeDecodeError:
        raise ValidationFailed(
            _("无法识别文件编码，请保存为 UTF-8 或 GBK 编码的 CSV"),
            code=RegistryErrorCode.FILE_ENCODING_INVALID,
        ) from None
    columns, labels, names = _map_headers(headers, aliases)

    def rows() -> Iterator[tuple[int, list]]:
        line = 1
        try:
            for values in reader:
                line += 1
                yield line, values
        except UnicodeDecodeError:  # checked over the whole file when it was opened; kept as a guard
            raise ValidationFailed(
                _("第%(line)s行附近含有无法识别的字符（文件编码应为 UTF-8 或 GBK）") % {"line": line + 1},
                code=RegistryErrorCode.FILE_ENCODING_INVALID,
            ) from None
        except csv.Error as e:
            raise ValidationFailed(
                _("第%(line_num)s行无法按 CSV 读取（%(error)s）") % {"line_num": reader.line_num, "error": e},
                code=RegistryErrorCode.FILE_CSV_INVALID,
            ) from None

    def position() -> int:
        return size if stream.closed else stream.tell()

    return Table(
        columns=columns,
        header_labels=labels,
        rows=rows(),
        size=size,
        position=position,
        keep=text,
        position_is_bytes=True,
        headers=names,
        max_cell_chars=limits.max_cell_chars,
    )


def _open_xlsx(stream: BinaryIO, *, size: int, aliases: dict[str, str] | None, limits: ImportLimits) -> Table:
    from openpyxl import load_workbook

    check_xlsx_archive(stream, limits)
    try:
        wb = load_workbook(stream, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for a broken file
        raise ValidationFailed(
            _("XLSX 文件已损坏或无法读取：%(error)s") % {"error": e}, code=CoreErrorCode.XLSX_UNREADABLE
        ) from None
    if not wb.worksheets:
        raise ValidationFailed(_("XLSX 文件中没有工作表"), code=RegistryErrorCode.FILE_NO_SHEET)
    ws = wb.worksheets[0]
    total = ws.max_row or 0
    refusal = rows_refusal(total - 1, limits)
    if refusal:
        wb.close()
        raise ValidationFailed(refusal, code=RegistryErrorCode.FILE_TOO_MANY_ROWS)
    wide = (ws.max_column or 0) > XLSX_MAX_COLUMNS
    it = ws.iter_rows(values_only=True, max_col=XLSX_MAX_COLUMNS if wide else None)
    try:
        headers = list(next(it))
    except StopIteration:
        raise ValidationFailed(_("工作表为空，没有表头"), code=RegistryErrorCode.FILE_NO_HEADER) from None
    columns, labels, names = _map_headers(headers, aliases)
    state = {"row": 1}
    max_rows = limits.max_rows

    def rows() -> Iterator[tuple[int, list]]:
        while True:
            try:
                values = next(it)
            except StopIteration:
                break
            except Exception as e:  # a sheet cut short, a bad checksum: openpyxl raises many types
                raise ValidationFailed(
                    _("XLSX 文件第%(row)s行之后已损坏，无法继续读取（%(error)s）")
                    % {"row": state["row"], "error": type(e).__name__},
                    code=CoreErrorCode.XLSX_UNREADABLE,
                ) from None
            state["row"] += 1
            if max_rows is not None and state["row"] - 1 > max_rows:
                # The sheet's declared size was wrong (it is only a hint in the file).
                raise ValidationFailed(
                    rows_refusal(state["row"] - 1, limits), code=RegistryErrorCode.FILE_TOO_MANY_ROWS
                )
            yield state["row"], list(values)
        wb.close()

    return Table(
        columns=columns,
        header_labels=labels,
        rows=rows(),
        size=total,
        position=lambda: state["row"],
        headers=names,
        max_cell_chars=limits.max_cell_chars,
    )


def check_required(table: Table, *, have: set[str]) -> None:
    missing = [LABELS[k] for k in REQUIRED if k not in table.columns and k not in have]
    if missing:
        raise ValidationFailed(
            _("缺少必需的列：%(missing)s（表头可用中文或英文名称，见导入模板）")
            % {"missing": "、".join(missing)},
            code=RegistryErrorCode.FILE_COLUMNS_MISSING,
        )


def table_from_dicts(
    headers: list[str], rows: "Iterator[dict]", *, aliases: dict[str, str] | None = None
) -> Table:
    """A Table over dicts keyed by header (for generated data); rows are numbered from 2 as in a sheet.
    ``aliases`` maps header text to column keys (default: the census columns)."""
    columns, labels, _ = _map_headers(headers, aliases)
    state = {"row": 1}

    def gen() -> Iterator[tuple[int, list]]:
        for d in rows:
            state["row"] += 1
            yield state["row"], [d.get(h, "") for h in headers]

    return Table(columns=columns, header_labels=labels, rows=gen(), position=lambda: state["row"])

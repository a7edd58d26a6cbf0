"""Identity documents, dates, sexes and phone numbers as a census sheet writes them (pure rules, stdlib only).

Everything here takes the untidy text people type or paste from Excel (full-width digits, spaces, a lower-case
``x``, ``+86`` prefixes, dates as ``2021年1月1日``) and either returns the normalised value or raises
:class:`DocumentError` with a Chinese message that names the reason. Messages about the document type say
“证件类型”; messages about a declared birth date say “出生”; callers rely on both to pick the column to blame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from vaxops.core.formulas import FORMULA_PREFIXES_SHOWN, starts_like_formula

__all__ = [
    "EARLIEST_BIRTH_DATE",
    "ID_TYPE_CHOICES",
    "ID_TYPE_LABELS",
    "ID_TYPE_LABELS_EN",
    "PROVINCE_CODES",
    "Document",
    "DocumentError",
    "IdType",
    "age_on",
    "check_character",
    "check_declared",
    "check_free_text",
    "convert_15_to_18",
    "mask_id",
    "mask_name",
    "mask_phone",
    "normalise_phone",
    "normalise_text",
    "parse_date",
    "parse_document",
    "parse_id_type",
    "parse_masked_query",
    "parse_sex",
]


class DocumentError(ValueError):
    """Input that cannot be a valid document, date, sex or phone number. ``message`` is Chinese, for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IdType(StrEnum):
    RESIDENT_ID = "resident_id"
    HK_MO_PERMIT = "hk_mo_permit"
    TW_PERMIT = "tw_permit"
    HMT_RESIDENCE = "hmt_residence"
    FOREIGN_PERMANENT = "foreign_permanent"
    PASSPORT = "passport"


ID_TYPE_LABELS: dict[IdType, str] = {
    IdType.RESIDENT_ID: "居民身份证",
    IdType.HK_MO_PERMIT: "港澳居民来往内地通行证",
    IdType.TW_PERMIT: "台湾居民来往大陆通行证",
    IdType.HMT_RESIDENCE: "港澳台居民居住证",
    IdType.FOREIGN_PERMANENT: "外国人永久居留身份证",
    IdType.PASSPORT: "护照",
}
ID_TYPE_LABELS_EN: dict[IdType, str] = {
    IdType.RESIDENT_ID: "Resident identity card",
    IdType.HK_MO_PERMIT: "Mainland travel permit for Hong Kong and Macao residents",
    IdType.TW_PERMIT: "Mainland travel permit for Taiwan residents",
    IdType.HMT_RESIDENCE: "Residence permit for Hong Kong, Macao and Taiwan residents",
    IdType.FOREIGN_PERMANENT: "Foreign permanent resident ID card",
    IdType.PASSPORT: "Passport",
}
ID_TYPE_CHOICES: list[tuple[str, str]] = [(t.value, ID_TYPE_LABELS[t]) for t in IdType]

# GB/T 2260 province-level codes: the 31 mainland provinces, plus 71 台湾, 81 香港, 82 澳门.
# fmt: off
PROVINCE_CODES: frozenset[str] = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
    "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
})
# fmt: on
# Resident identity cards are issued by mainland public-security organs; 71 (Taiwan) exists in the code
# table and on a few cards of people registered as being from Taiwan. 81/82/83 + 0000 are the residence
# permits for Hong Kong, Macao and Taiwan residents, a different document.
_RESIDENT_PROVINCES = PROVINCE_CODES - {"81", "82"}
_HMT_AREAS = {"810000": "香港", "820000": "澳门", "830000": "台湾"}
EARLIEST_BIRTH_DATE = date(1890, 1, 1)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"

# Full-width ASCII (U+FF01–FF5E) → half-width, ideographic space → space; zero-width characters and the BOM
# that Excel and WeChat copies carry are dropped.
_HALF_WIDTH: dict[int, int | None] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_HALF_WIDTH.update({0x3000: 0x20, 0x200B: None, 0x200C: None, 0x200D: None, 0x2060: None, 0xFEFF: None})

_SCIENTIFIC = re.compile(r"^\d+(?:\.\d+)?E\+?\d+$")
_DIGITS17 = re.compile(r"^\d{17}$")


def normalise_text(value: object) -> str:
    """The text of ``value`` half-width, without any whitespace. ``None`` → ``""``."""
    if value is None:
        return ""
    return "".join(str(value).translate(_HALF_WIDTH).split())


# ---------------------------------------------------------------------------------------------------------
# Document types
# ---------------------------------------------------------------------------------------------------------

_ID_TYPE_ALIASES: dict[str, IdType] = {}


def _alias(id_type: IdType, *names: str) -> None:
    for name in names:
        _ID_TYPE_ALIASES[normalise_text(name).lower()] = id_type


for _t in IdType:
    _alias(_t, _t.value, _t.name, ID_TYPE_LABELS[_t], ID_TYPE_LABELS_EN[_t])
_alias(
    IdType.RESIDENT_ID, "身份证", "居民身份证", "二代身份证", "第二代居民身份证", "大陆居民身份证", "ID card"
)
_alias(IdType.HK_MO_PERMIT, "港澳通行证", "回乡证", "港澳居民往来内地通行证", "港澳居民来往内地通行证")
_alias(IdType.TW_PERMIT, "台胞证", "台湾居民往来大陆通行证", "台湾居民来往大陆通行证")
_alias(IdType.HMT_RESIDENCE, "居住证", "港澳台居住证", "港澳居民居住证", "台湾居民居住证")
_alias(IdType.FOREIGN_PERMANENT, "永居证", "外国人永久居留证", "外国人永久居留身份证", "五星卡")
_alias(IdType.PASSPORT, "护照", "中国护照", "外国护照", "普通护照")
del _t


def parse_id_type(text: str | None) -> IdType:
    """The document type named by ``text`` (labels, common short forms, enum values/names, any case).

    Blank means 居民身份证, the default on every census sheet.
    """
    if isinstance(text, IdType):
        return text
    key = normalise_text(text).lower()
    if not key:
        return IdType.RESIDENT_ID
    found = _ID_TYPE_ALIASES.get(key)
    if found is None:
        accepted = "、".join(ID_TYPE_LABELS.values())
        raise DocumentError(f"证件类型“{str(text).strip()}”无法识别，应为：{accepted}")
    return found


# ---------------------------------------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """A validated, normalised identity document; ``birth_date``/``sex`` are ``None`` when the number carries none."""

    id_type: IdType
    number: str
    birth_date: date | None
    sex: str | None  # "M" / "F"

    @property
    def masked(self) -> str:
        return mask_id(self.number)

    @property
    def label(self) -> str:
        return ID_TYPE_LABELS[self.id_type]


def check_character(first17: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) for the first 17 digits of an 18-character number."""
    if not _DIGITS17.match(first17):
        raise DocumentError("计算校验位需要17位数字")
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def convert_15_to_18(number15: str) -> str:
    """A legacy 15-digit resident ID as its 18-character form: "19" before the year, check character after."""
    if len(number15) != 15 or not number15.isdigit():
        raise DocumentError("15位身份证号码应为15位数字")
    first17 = number15[:6] + "19" + number15[6:]
    return first17 + check_character(first17)


def _normalise_number(raw: object) -> str:
    if isinstance(raw, float):
        raise DocumentError("证件号码被Excel存成了数字，末几位已丢失；请把该列设为文本格式后重新录入")
    number = normalise_text(raw).upper().lstrip("'")
    if _SCIENTIFIC.match(number):
        raise DocumentError(
            f"证件号码“{number}”是Excel的科学计数法，原号码已丢失；请把该列设为文本格式后重新录入"
        )
    return number


def _birth_date(yyyymmdd: str, *, today: date) -> date:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        raise DocumentError(f"出生日期无效：{yyyymmdd}") from None
    if born > today:
        raise DocumentError(f"出生日期晚于今天：{born.isoformat()}")
    if born < EARLIEST_BIRTH_DATE:
        raise DocumentError(f"出生日期早于1890年：{born.isoformat()}")
    return born


def _check_18(number: str, what: str) -> None:
    expected = check_character(number[:17])
    if number[17] != expected:
        raise DocumentError(f"{what}校验位错误：应为{expected}，实际为{number[17]}")


def _sex_of(digit: str) -> str:
    return "M" if int(digit) % 2 else "F"


def _resident_id(number: str, today: date) -> Document:
    if len(number) == 15:
        if not number.isdigit():
            raise DocumentError("15位身份证号码应全部为数字")
        if number[:2] not in _RESIDENT_PROVINCES:
            raise DocumentError(f"身份证号码前两位省份代码无效：{number[:2]}")
        born = _birth_date("19" + number[6:12], today=today)
        number = convert_15_to_18(number)
        return Document(IdType.RESIDENT_ID, number, born, _sex_of(number[16]))
    if len(number) != 18:
        raise DocumentError(f"身份证号码长度应为18位或15位（实际为{len(number)}位）")
    if not (_DIGITS17.match(number[:17]) and (number[17].isdigit() or number[17] == "X")):
        raise DocumentError("身份证号码前17位应为数字，最后一位为数字或X")
    if number[:6] in _HMT_AREAS:
        raise DocumentError("该号码是港澳台居民居住证号码，请将证件类型改为“港澳台居民居住证”")
    if number[:2] not in _RESIDENT_PROVINCES:
        raise DocumentError(f"身份证号码前两位省份代码无效：{number[:2]}")
    born = _birth_date(number[6:14], today=today)
    _check_18(number, "身份证号码")
    return Document(IdType.RESIDENT_ID, number, born, _sex_of(number[16]))


def _hmt_residence(number: str, today: date) -> Document:
    if (
        len(number) != 18
        or not _DIGITS17.match(number[:17])
        or not (number[17].isdigit() or number[17] == "X")
    ):
        raise DocumentError("港澳台居民居住证号码应为18位：前17位为数字，最后一位为数字或X")
    if number[:6] not in _HMT_AREAS:
        raise DocumentError("港澳台居民居住证号码应以810000（香港）、820000（澳门）或830000（台湾）开头")
    born = _birth_date(number[6:14], today=today)
    _check_18(number, "居住证号码")
    return Document(IdType.HMT_RESIDENCE, number, born, _sex_of(number[16]))


_FOREIGN_OLD = re.compile(r"^[A-Z]{3}\d{12}$")


def _foreign_permanent(number: str, today: date) -> Document:
    # 2023 card: 9 + issuing province (2) + nationality (3) + birth date (8) + sequence (3, odd = male) + check.
    if len(number) == 18 and number[0] == "9":
        if not _DIGITS17.match(number[:17]) or not (number[17].isdigit() or number[17] == "X"):
            raise DocumentError("永久居留身份证号码前17位应为数字，最后一位为数字或X")
        if number[1:3] not in PROVINCE_CODES:
            raise DocumentError(f"永久居留身份证号码第2–3位受理地代码无效：{number[1:3]}")
        born = _birth_date(number[6:14], today=today)
        _check_18(number, "永久居留身份证号码")
        return Document(IdType.FOREIGN_PERMANENT, number, born, _sex_of(number[16]))
    # 2004/2017 card: nationality (3 letters) + issuing authority (4) + birth date (YYMMDD) + sequence (2).
    if _FOREIGN_OLD.match(number):
        return Document(IdType.FOREIGN_PERMANENT, number, None, None)
    raise DocumentError("永久居留身份证号码格式错误：新版为以9开头的18位，旧版为3位字母加12位数字")


_HK_MO = re.compile(r"^[HM](?:\d{8}|\d{10})$")
_TW = re.compile(r"^(?:\d{8}|\d{10})$")
_PASSPORT = re.compile(r"^[A-Z0-9]{5,17}$")


def parse_document(id_type: IdType | str, raw: str, *, today: date) -> Document:
    """Validate and normalise a document number; derive birth date and sex where the number carries them.

    15-digit resident IDs come back as their 18-character form. Raises DocumentError naming the reason.
    """
    id_type = parse_id_type(id_type) if not isinstance(id_type, IdType) else id_type
    number = _normalise_number(raw)
    if not number:
        raise DocumentError("证件号码为空")
    if id_type is IdType.RESIDENT_ID:
        return _resident_id(number, today)
    if id_type is IdType.HMT_RESIDENCE:
        return _hmt_residence(number, today)
    if id_type is IdType.FOREIGN_PERMANENT:
        return _foreign_permanent(number, today)
    if id_type is IdType.HK_MO_PERMIT:
        if not _HK_MO.match(number):
            raise DocumentError("港澳居民来往内地通行证号码格式错误：应为H或M加8位或10位数字")
        return Document(id_type, number, None, None)
    if id_type is IdType.TW_PERMIT:
        if not _TW.match(number):
            raise DocumentError("台湾居民来往大陆通行证号码格式错误：应为8位数字（旧版为10位）")
        return Document(id_type, number, None, None)
    if not _PASSPORT.match(number):
        raise DocumentError("护照号码格式错误：应为5–17位字母或数字")
    return Document(id_type, number, None, None)


_SEX_ZH = {"M": "男", "F": "女"}


def check_declared(document: Document, *, birth_date: date | None, sex: str | None) -> list[str]:
    """Messages where the entered birth date or sex contradicts the document; empty when they agree.

    Birth-date messages contain “出生”, sex messages do not.
    """
    problems: list[str] = []
    if isinstance(birth_date, datetime):
        birth_date = birth_date.date()
    if birth_date is not None and document.birth_date is not None and birth_date != document.birth_date:
        problems.append(
            f"填写的出生日期{birth_date.isoformat()}与证件号码中的出生日期{document.birth_date.isoformat()}不一致"
        )
    if sex is not None and sex not in _SEX_ZH:
        sex = parse_sex(sex)
    if sex is not None and document.sex is not None and sex != document.sex:
        problems.append(f"填写的性别“{_SEX_ZH[sex]}”与证件号码显示的性别“{_SEX_ZH[document.sex]}”不一致")
    return problems


# ---------------------------------------------------------------------------------------------------------
# Sex, dates, phone numbers
# ---------------------------------------------------------------------------------------------------------

# fmt: off
_SEXES = {
    "男": "M", "男性": "M", "m": "M", "male": "M", "1": "M",
    "女": "F", "女性": "F", "f": "F", "female": "F", "2": "F",
}
# fmt: on


def parse_sex(text: object) -> str | None:
    """Return "M" or "F" from 男/女, M/F, male/female or the GB/T 2261.1 codes 1/2; blank → ``None``."""
    key = normalise_text(text).lower()
    if not key:
        return None
    if key not in _SEXES:
        raise DocumentError(f"性别“{str(text).strip()}”无法识别，应为“男”或“女”")
    return _SEXES[key]


_DATE_SEPARATED = re.compile(
    r"^(\d{4})\s*([-/.])\s*(\d{1,2})\s*\2\s*(\d{1,2})(?:(?:\s+|T)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DATE_CHINESE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$")


def parse_date(value: object) -> date | None:
    """A calendar date from an Excel cell or text; blank → ``None``.

    Accepts date/datetime objects, 2021-01-01, 2021/1/1, 2021.1.1, 20210101, 2021年1月1日 (a trailing
    time such as 00:00:00 is ignored).
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).translate(_HALF_WIDTH).strip()
    if not text:
        return None
    found = _DATE_SEPARATED.match(text)
    if found:
        parts = found.group(1, 3, 4)
    else:
        found = _DATE_COMPACT.match(text) or _DATE_CHINESE.match(text)
        if not found:
            raise DocumentError(f"日期格式无法识别：{str(value).strip()}（应为如2021-01-01）")
        parts = found.group(1, 2, 3)
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise DocumentError(f"日期格式无法识别：{str(value).strip()}（该日期不存在）") from None


_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Free-text fields of a person that a spreadsheet shows (names, addresses, work unit, notes).
FREE_TEXT_FIELDS = (
    "name",
    "address",
    "employer",
    "occupation",
    "chronic_conditions",
    "willingness_reason",
)


def check_free_text(text: str) -> str | None:
    """Why ``text`` cannot be a person's name, address or note, or ``None`` when it can.

    Text that begins like a formula (``=HYPERLINK(…)``, ``=cmd|…``, ``+``, ``-``, ``@``, a tab or a carriage
    return) is never a real name or address, and would run as a formula in a sheet someone opens later.
    """
    if starts_like_formula(text):
        return f"不能以 {FORMULA_PREFIXES_SHOWN}开头（电子表格会把它当作公式执行）"
    return None


_PHONE_PUNCTUATION = str.maketrans("", "", "-()（）")


def normalise_phone(raw: object) -> str | None:
    """An 11-digit mainland mobile number; ``None`` when blank. Drops +86 / 86 / 0086 and punctuation."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    phone = normalise_text(raw).translate(_PHONE_PUNCTUATION)
    if not phone:
        return None
    for prefix in ("+86", "0086", "86"):
        if phone.startswith(prefix) and len(phone) == len(prefix) + 11:
            phone = phone[len(prefix) :]
            break
    if not _MOBILE.match(phone):
        raise DocumentError(f"手机号码格式错误：{str(raw).strip()}（应为11位手机号码）")
    return phone


# ---------------------------------------------------------------------------------------------------------
# Masking, ages, masked search
# ---------------------------------------------------------------------------------------------------------


def mask_id(number: str) -> str:
    """``110105********002X``: 15+ characters keep the first 6 and last 4; shorter documents keep 2 and 2.

    (Keeping 6 + 4 of an 11-character permit would show all but one character, hence the 15 threshold.)
    """
    if not number:
        return ""
    n = len(number)
    if n >= 15:
        return number[:6] + "*" * (n - 10) + number[-4:]
    if n >= 5:
        return number[:2] + "*" * (n - 4) + number[-2:]
    return "*" * n


def mask_phone(phone: str) -> str:
    """``138****5678``: first 3 and last 4 shown."""
    if not phone:
        return ""
    n = len(phone)
    if n >= 8:
        return phone[:3] + "*" * (n - 7) + phone[-4:]
    return "*" * n


def mask_name(name: str) -> str:
    """张三丰 → 张*丰, 张三 → 张*, 张 → 张; longer names keep the first and last character."""
    if not name:
        return ""
    name = name.strip()
    n = len(name)
    if n <= 1:
        return name
    if n == 2:
        return name[0] + "*"
    return name[0] + "*" * (n - 2) + name[-1]


def age_on(birth_date: date, on: date) -> int:
    """Completed years of age on ``on`` (someone born on 29 February turns a year older on 1 March)."""
    if on < birth_date:
        raise ValueError("on is before birth_date")
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


_MASKED = re.compile(r"^([0-9A-Z]{2,17})\*+([0-9A-Z]{2,17})$")


def parse_masked_query(text: str | None) -> tuple[str, str] | None:
    """(prefix, suffix) of a masked document number such as ``110105********002X`` or ``110105*002X``.

    ``None`` when ``text`` is not one run of ``*`` between at least two visible characters on each side.
    """
    found = _MASKED.match(normalise_text(text).upper())
    if not found:
        return None
    return found.group(1), found.group(2)

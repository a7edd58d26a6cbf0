"""The rules of a vaccination certificate in the EU DCC format, as pure functions (no ORM, no Django).

* Names: ICAO Doc 9303 Part 3 standardised names (``fnt``/``gnt``: upper-case A–Z and ``<``, at most
  80 characters). Chinese names are written in Hanyu Pinyin without tones, as on Chinese passports:
  the surname (compound surnames such as 欧阳 included) in ``fnt``, the given name's syllables run
  together in ``gnt`` (张三丰 → ``ZHANG`` / ``SANFENG``). ICAO leaves the transliteration of a national
  script to the issuing State; China's exit-entry documents write ü as ``YU`` (吕 → ``LYU``, 女 → ``NYU``),
  and so do we. Latin letters with diacritics follow the ICAO table (Ü → ``UE``, ß → ``SS``, Ø → ``OE``…).
* UVCI: ``URN:UVCI:01:CN:<issuer>/<unique>#<check>``, the check character computed with Luhn mod N over
  the whole string before ``#`` with the 38 characters ``A–Z 0–9 / :`` (the eHN UVCI checksum).
* Dose numbers: a primary dose is ``n/primary doses``; a booster is ``n/n`` (3/3 after a 2-dose course),
  or ``n/1`` after a 1-dose course (2/1), as the EU encodes boosters since December 2021.
* Payload: DCC vaccination entry, validated against ``data/DCC.combined-schema.json`` and the value sets
  beside it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import secrets
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema_rs

DATA_DIR = Path(__file__).resolve().parent / "data"

DCC_VERSION = "1.3.0"
TARGET_COVID19 = "840539006"
DEFAULT_COUNTRY = "CN"
NAME_MAX = 80
ISSUER_MAX = 80
UVCI_PREFIX = "URN:UVCI:"
UVCI_VERSION = "01"
UVCI_MAX = 50
UVCI_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:"
_UVCI_RE = re.compile(r"^URN:UVCI:(\d{2}):([A-Z]{2}):([A-Z0-9/]+)(?:#([A-Z0-9/:]))?$")

# Products without an entry of their own in the value sets: (mp, ma), see data/README.md.
DCC_FALLBACK: dict[str, tuple[str, str]] = {
    "ZF2001": ("NVSI-06-08", "NVSI"),
}


# --------------------------------------------------------------------------------------------------
# Value sets and the schema
# --------------------------------------------------------------------------------------------------


@cache
def value_set(name: str) -> dict[str, dict[str, Any]]:
    """``name`` is a file of ``data/`` without ``.json`` (``vaccine-medicinal-product`` …)."""
    with (DATA_DIR / f"{name}.json").open(encoding="utf-8") as f:
        values: dict[str, dict[str, Any]] = json.load(f)["valueSetValues"]
    return values


@cache
def schema() -> dict[str, Any]:
    with (DATA_DIR / "DCC.combined-schema.json").open(encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


@cache
def _validator() -> jsonschema_rs.Validator:
    import jsonschema_rs

    return jsonschema_rs.validator_for(schema(), validate_formats=True)


# field of a vaccination entry → its value set
_V_SETS = {
    "tg": "disease-agent-targeted",
    "vp": "vaccine-prophylaxis",
    "mp": "vaccine-medicinal-product",
    "ma": "vaccine-mah-manf",
    "co": "country-2-codes",
}


def schema_check(payload: Any) -> list[str]:
    """Why ``payload`` is not a valid DCC (empty when it is): the JSON schema (with date formats) and,
    for the coded fields of a vaccination entry and the country of any entry, their value sets."""
    if not isinstance(payload, dict):
        return ["载荷不是 JSON 对象 / payload is not a JSON object"]
    reasons = []
    for error in _validator().iter_errors(payload):
        where = "/".join(str(p) for p in error.instance_path) or "(root)"
        reasons.append(
            f"不符合 DCC 模式：{where} {error.message} / does not match the DCC schema: {where} {error.message}"
        )
    if reasons:
        return reasons
    for group in ("v", "t", "r"):
        for i, entry in enumerate(payload.get(group) or ()):
            fields = _V_SETS if group == "v" else {"tg": _V_SETS["tg"], "co": _V_SETS["co"]}
            for field, set_name in fields.items():
                value = entry.get(field)
                if value is not None and value not in value_set(set_name):
                    reasons.append(
                        f"{group}/{i}/{field} 的代码“{value}”不在值集 {set_name} 中 / "
                        f"code {value!r} of {group}/{i}/{field} is not in value set {set_name}"
                    )
    return reasons


def dcc_codes(*, product_code: str, mp: str | None, ma: str | None, vp: str | None) -> tuple[str, str, str]:
    """The (mp, ma, vp) of a product: its own codes where the value sets know them, else the documented
    fallback. Raises ``ValueError`` (Chinese) when a product has no usable code."""
    fallback = DCC_FALLBACK.get(product_code)
    if not mp and fallback:
        mp = fallback[0]
    if not ma and fallback:
        ma = fallback[1]
    if not vp:
        raise ValueError(f"疫苗品种 {product_code} 未登记 DCC 疫苗类型编码（vp），无法出具凭证")
    # In this order: the first code that is missing or unknown is the one reported.
    return (
        _dcc_code(product_code, mp, "vaccine-medicinal-product", "mp"),
        _dcc_code(product_code, ma, "vaccine-mah-manf", "ma"),
        _dcc_code(product_code, vp, "vaccine-prophylaxis", "vp"),
    )


def _dcc_code(product_code: str, code: str | None, set_name: str, label: str) -> str:
    if not code:
        raise ValueError(f"疫苗品种 {product_code} 未登记 DCC 编码（{label}），无法出具凭证")
    if code not in value_set(set_name):
        raise ValueError(f"疫苗品种 {product_code} 的 DCC 编码 {label}={code} 不在值集中，无法出具凭证")
    return code


# --------------------------------------------------------------------------------------------------
# Names (ICAO 9303 Part 3)
# --------------------------------------------------------------------------------------------------

COMPOUND_SURNAMES: dict[str, str] = {
    "欧阳": "OUYANG",
    "司马": "SIMA",
    "上官": "SHANGGUAN",
    "诸葛": "ZHUGE",
    "东方": "DONGFANG",
    "皇甫": "HUANGFU",
    "尉迟": "YUCHI",
    "公孙": "GONGSUN",
    "慕容": "MURONG",
    "长孙": "ZHANGSUN",
    "宇文": "YUWEN",
    "司徒": "SITU",
    "司空": "SIKONG",
    "夏侯": "XIAHOU",
    "轩辕": "XUANYUAN",
    "令狐": "LINGHU",
    "钟离": "ZHONGLI",
    "端木": "DUANMU",
    "独孤": "DUGU",
    "南宫": "NANGONG",
    "西门": "XIMEN",
    "百里": "BAILI",
    "呼延": "HUYAN",
    "万俟": "MOQI",
    "澹台": "TANTAI",
    "公冶": "GONGYE",
    "太史": "TAISHI",
    "申屠": "SHENTU",
    "闻人": "WENREN",
    "赫连": "HELIAN",
    "拓跋": "TUOBA",
    "单于": "CHANYU",
    "鲜于": "XIANYU",
    "淳于": "CHUNYU",
    "濮阳": "PUYANG",
    "宗政": "ZONGZHENG",
    "公羊": "GONGYANG",
    "亓官": "QIGUAN",
    "司寇": "SIKOU",
    "左丘": "ZUOQIU",
    "东郭": "DONGGUO",
    "第五": "DIWU",
    "句龙": "GOULONG",
}

# Single-character surnames read differently from the character's common reading.
SURNAME_READINGS: dict[str, str] = {
    "单": "SHAN",
    "曾": "ZENG",
    "区": "OU",
    "仇": "QIU",
    "朴": "PIAO",
    "解": "XIE",
    "查": "ZHA",
    "盖": "GE",
    "乐": "YUE",
    "覃": "QIN",
    "缪": "MIAO",
    "翟": "ZHAI",
    "召": "SHAO",
    "繁": "PO",
    "员": "YUN",
    "秘": "BI",
    "种": "CHONG",
    "折": "SHE",
    "尉": "WEI",
    "柏": "BAI",
    "重": "CHONG",
    "华": "HUA",
    "任": "REN",
    "沈": "SHEN",
    "宿": "SU",
    "车": "CHE",
    "句": "GOU",
    "隗": "WEI",
    "冼": "XIAN",
    "洗": "XIAN",
    "莘": "SHEN",
    "佴": "NAI",
    "厍": "SHE",
    "逄": "PANG",
    "那": "NA",
    "纪": "JI",
    "訾": "ZI",
    "祭": "ZHAI",
    "缑": "GOU",
    "长": "CHANG",
    "朝": "CHAO",
    "都": "DU",
    "过": "GUO",
    "阚": "KAN",
    "贲": "BEN",
    "葛": "GE",
    "郇": "HUAN",
    "能": "NAI",
    "费": "FEI",
    "燕": "YAN",
    "薄": "BO",
}

# ICAO Doc 9303 Part 3, transliteration of Latin-script national characters (recommended column).
_LATIN = {
    "Ä": "AE",
    "Å": "AA",
    "Æ": "AE",
    "Ð": "D",
    "Ö": "OE",
    "Ø": "OE",
    "Ü": "UE",
    "Þ": "TH",
    "ß": "SS",
    "Œ": "OE",
    "Ĳ": "IJ",
    "Ł": "L",
    "Đ": "D",
    "Ħ": "H",
    "Ŧ": "T",
    "Ŋ": "N",
    "ı": "I",
    "ĸ": "Q",
}
_FILLERS = re.compile(r"[\s\-,.·•・‧/_]+")


@dataclass(frozen=True)
class Name:
    """``fn``/``gn`` as written (Chinese), ``fnt``/``gnt`` standardised (ICAO 9303)."""

    fn: str
    gn: str
    fnt: str
    gnt: str

    @property
    def standardised(self) -> str:
        """The whole name in one field, surname first: ``ZHANG<SANFENG``."""
        return "<".join(p for p in (self.fnt, self.gnt) if p)

    def as_dcc(self) -> dict[str, str]:
        out = {"fn": self.fn, "fnt": self.fnt}
        if self.gn or self.gnt:
            out |= {"gn": self.gn, "gnt": self.gnt}
        return out


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\U00020000" <= ch <= "\U0003134f"


def _latin(text: str) -> str:
    """A Latin-script text in ICAO characters: A–Z, with ``<`` for spaces, hyphens and commas;
    apostrophes and other marks dropped."""
    out = []
    for ch in text.upper():
        if "A" <= ch <= "Z":
            out.append(ch)
        elif ch in _LATIN:
            out.append(_LATIN[ch])
        elif _FILLERS.fullmatch(ch):
            out.append("<")
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out.append("".join(c for c in base.upper() if "A" <= c <= "Z"))
    return re.sub("<+", "<", "".join(out)).strip("<")


def _pinyin(text: str) -> list[str]:
    """Pinyin syllables (upper case, no tones, ü → YU) of the Han characters of ``text``; a run of
    other characters comes back as one standardised Latin item."""
    from pypinyin import Style, lazy_pinyin

    items = []
    for item in lazy_pinyin(text, style=Style.NORMAL, errors="default", v_to_u=False):
        if item and all("a" <= c <= "z" for c in item):
            items.append(item.replace("v", "yu").upper())
        else:
            latin = _latin(item)
            if latin:
                items.append(latin)
    return items


def _standardise(text: str) -> str:
    """One name part as ICAO characters: pinyin syllables of one word run together; words separated
    by ``<``."""
    words = [w for w in _FILLERS.split(text.strip()) if w]
    out = []
    for word in words:
        if any(_is_han(c) for c in word):
            out.append("".join(_pinyin(word)))
        else:
            out.append(_latin(word))
    return "<".join(w for w in out if w)[:NAME_MAX].rstrip("<")


def _surname_reading(surname: str) -> str:
    if surname in COMPOUND_SURNAMES:
        return COMPOUND_SURNAMES[surname]
    if surname in SURNAME_READINGS:
        return SURNAME_READINGS[surname]
    return _standardise(surname)


def transliterate_name(name: str) -> Name:
    """A person's name as DCC ``nam``.

    * A Chinese name of Han characters: surname (a compound surname when the name starts with one and
      is longer than it) and given name, e.g. 欧阳修 → ``OUYANG`` / ``XIU``.
    * A name with a separator dot (少数民族 and transcribed foreign names, 买买提·艾力): no surname can be
      told apart, so the whole name goes into the surname field (ICAO: the primary identifier).
    * A Latin-script name: ``SURNAME, Given`` or an MRZ-like ``SURNAME<<GIVEN`` is split there;
      otherwise the whole name is the primary identifier.
    """
    text = unicodedata.normalize("NFC", " ".join((name or "").split()))
    if not text:
        raise ValueError("姓名为空，无法出具凭证")
    if "<<" in text:
        fn, gn = (p.replace("<", " ").strip() for p in text.split("<<", 1))
    elif "," in text:
        fn, gn = (p.strip() for p in text.split(",", 1))
    elif all(_is_han(c) or c == " " for c in text) and len(text) >= 2:
        if " " in text:  # written apart: 张 三丰
            fn, gn = text.split(" ", 1)
            gn = gn.replace(" ", "")
        else:
            size = 2 if text[:2] in COMPOUND_SURNAMES and len(text) > 2 else 1
            fn, gn = text[:size], text[size:]
        return Name(fn=fn[:NAME_MAX], gn=gn[:NAME_MAX], fnt=_surname_reading(fn), gnt=_standardise(gn))
    else:
        fn, gn = text, ""
    fnt, gnt = _standardise(fn), _standardise(gn)
    if not fnt and not gnt:
        raise ValueError(f"姓名“{name}”无法转写为拉丁字母，无法出具凭证")
    return Name(fn=fn[:NAME_MAX], gn=gn[:NAME_MAX], fnt=fnt, gnt=gnt)


# --------------------------------------------------------------------------------------------------
# UVCI
# --------------------------------------------------------------------------------------------------


def luhn_mod_n(text: str) -> str:
    """The check character of ``text`` (Luhn mod N over ``UVCI_CHARSET``)."""
    n = len(UVCI_CHARSET)
    factor, total = 2, 0
    for ch in reversed(text):
        try:
            addend = factor * UVCI_CHARSET.index(ch)
        except ValueError:
            raise ValueError(f"UVCI 含有不允许的字符：{ch!r}") from None
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return UVCI_CHARSET[(n - total % n) % n]


def uvci_make(*, issuer: str, unique: str, country: str = DEFAULT_COUNTRY) -> str:
    """``URN:UVCI:01:CN:<issuer>/<unique>#<check>`` (schema option 2: issuing entity / opaque id)."""
    if not re.fullmatch(r"[A-Z0-9]+", issuer or ""):
        raise ValueError("UVCI 签发机构代码只能包含大写字母和数字")
    if not re.fullmatch(r"[A-Z0-9]+", unique or ""):
        raise ValueError("UVCI 唯一码只能包含大写字母和数字")
    body = f"{UVCI_PREFIX}{UVCI_VERSION}:{country}:{issuer}/{unique}"
    uvci = f"{body}#{luhn_mod_n(body)}"
    if len(uvci) > UVCI_MAX:
        raise ValueError(f"UVCI 超过 {UVCI_MAX} 个字符")
    return uvci


def uvci_unique(length: int = 16) -> str:
    """A random opaque id: ``length`` characters of base32 (A–Z, 2–7), 5 bits each."""
    raw = base64.b32encode(secrets.token_bytes((length * 5 + 7) // 8)).decode("ascii").rstrip("=")
    return raw[:length]


def uvci_check(uvci: str) -> list[str]:
    """Why ``uvci`` is not a well-formed UVCI with a correct check character (empty when it is)."""
    m = _UVCI_RE.match(uvci or "")
    if not m:
        return ["UVCI 格式不正确 / malformed UVCI"]
    reasons = []
    if len(uvci) > UVCI_MAX:
        reasons.append(f"UVCI 超过 {UVCI_MAX} 个字符 / UVCI longer than {UVCI_MAX} characters")
    if m.group(4) is None:
        reasons.append("UVCI 缺少校验字符 / UVCI has no check character")
    elif luhn_mod_n(uvci[: uvci.rindex("#")]) != m.group(4):
        reasons.append("UVCI 校验字符错误 / wrong UVCI check character")
    return reasons


def uvci_hash(uvci: str) -> str:
    """The revocation hash of a UVCI, as in the DCC revocation lists (hash type UCI): the first 128 bits
    of SHA-256 of the UVCI, base64."""
    return base64.b64encode(hashlib.sha256(uvci.encode("utf-8")).digest()[:16]).decode("ascii")


# --------------------------------------------------------------------------------------------------
# Doses and the payload
# --------------------------------------------------------------------------------------------------


def dose_numbers(*, number: int, is_booster: bool, primary_doses: int | None) -> tuple[int, int]:
    """(``dn``, ``sd``) of a valid dose; ``number`` is its position among the person's valid doses."""
    if number < 1:
        raise ValueError("剂次必须为正整数")
    primary = primary_doses or number
    if not is_booster:
        return number, max(primary, number)
    if primary == 1:
        return number, 1  # 2/1: a booster after a one-dose course
    return number, number  # 3/3: a booster after a two-dose course


@dataclass(frozen=True)
class Vaccination:
    """The dose a certificate's QR carries (the person's latest valid dose)."""

    mp: str
    ma: str
    vp: str
    dn: int
    sd: int
    date: dt.date
    country: str = DEFAULT_COUNTRY


def payload_build(
    *, name: Name, birth_date: dt.date | None, vaccination: Vaccination, issuer: str, uvci: str
) -> dict[str, Any]:
    """The DCC JSON of a vaccination certificate."""
    if len(issuer) > ISSUER_MAX:
        raise ValueError(f"签发机构名称超过 {ISSUER_MAX} 个字符")
    return {
        "ver": DCC_VERSION,
        "nam": name.as_dcc(),
        "dob": birth_date.isoformat() if birth_date else "",
        "v": [
            {
                "tg": TARGET_COVID19,
                "vp": vaccination.vp,
                "mp": vaccination.mp,
                "ma": vaccination.ma,
                "dn": vaccination.dn,
                "sd": vaccination.sd,
                "dt": vaccination.date.isoformat(),
                "co": vaccination.country,
                "is": issuer,
                "ci": uvci,
            }
        ],
    }


def display_product(mp: str) -> str:
    entry = value_set("vaccine-medicinal-product").get(mp)
    return entry["display"] if entry else mp


def display_holder(ma: str) -> str:
    entry = value_set("vaccine-mah-manf").get(ma)
    return entry["display"] if entry else ma


def display_type(vp: str) -> str:
    entry = value_set("vaccine-prophylaxis").get(vp)
    return entry["display"] if entry else vp


def display_country(co: str) -> str:
    entry = value_set("country-2-codes").get(co)
    return entry["display"] if entry else co

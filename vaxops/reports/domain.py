"""Pure rules of progress reporting: a population row read from a file, coverage and the daily quota.

No Django, no clock: the caller gives the day. Every refusal names the field and says why, in Chinese.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from dataclasses import dataclass
from fractions import Fraction

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_PEOPLE = 200_000_000  # more than any division of the country holds; a typo with extra digits is refused


class PopulationKind(enum.StrEnum):
    """Which population a count is of: 户籍 (registered residence) or 常住 (usual residence)."""

    REGISTERED = "registered"
    RESIDENT = "resident"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {PopulationKind.REGISTERED: "户籍人口", PopulationKind.RESIDENT: "常住人口"}
_KIND_WORDS = {
    "户籍": PopulationKind.REGISTERED,
    "户籍人口": PopulationKind.REGISTERED,
    "registered": PopulationKind.REGISTERED,
    "常住": PopulationKind.RESIDENT,
    "常住人口": PopulationKind.RESIDENT,
    "resident": PopulationKind.RESIDENT,
}


@dataclass(frozen=True)
class PopulationRow:
    """One division's population of one kind in one year: everyone, those aged 18+ and those aged 60+."""

    division_code: str
    year: int
    kind: PopulationKind
    total: int
    age_18_plus: int
    age_60_plus: int


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


def _count(value: object, *, label: str, field: str) -> tuple[int | None, FieldError | None]:
    text = str(value).strip().replace(",", "").replace("，", "") if value is not None else ""
    if text == "":
        return None, FieldError(field, f"{label}不能为空")
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if not re.fullmatch(r"\d+", text):
        return None, FieldError(field, f"{label}“{str(value)[:20]}”不是非负整数")
    n = int(text)
    if n > MAX_PEOPLE:
        return None, FieldError(field, f"{label}{n}超出合理范围（不超过{MAX_PEOPLE:,}）")
    return n, None


def population_row(values: dict[str, object]) -> tuple[PopulationRow | None, list[FieldError]]:
    """Read one row (fields ``division``, ``year``, ``kind``, ``total``, ``age_18_plus``, ``age_60_plus``).

    The division code may be given with or without its zero padding (6 digits for a county, 9 for a
    township, 12 for a village); it is returned padded to 12. The three counts must nest: 60+ ≤ 18+ ≤ total.
    """
    errors: list[FieldError] = []
    raw_code = str(values.get("division") or "").strip()
    code = raw_code
    if not re.fullmatch(r"\d{6}(\d{3}(\d{3})?)?", raw_code):
        errors.append(FieldError("division", f"区划代码“{raw_code[:20]}”应为6、9或12位数字"))
    else:
        code = raw_code.ljust(12, "0")

    year: int | None = None
    raw_year = str(values.get("year") or "").strip()
    if raw_year.endswith(".0"):
        raw_year = raw_year[:-2]
    if not re.fullmatch(r"\d{4}", raw_year) or not MIN_YEAR <= int(raw_year) <= MAX_YEAR:
        errors.append(FieldError("year", f"年份“{raw_year[:20]}”应为{MIN_YEAR}至{MAX_YEAR}之间的四位数字"))
    else:
        year = int(raw_year)

    raw_kind = str(values.get("kind") or "").strip().lower()
    kind = _KIND_WORDS.get(raw_kind)
    if kind is None:
        errors.append(FieldError("kind", f"人口口径“{raw_kind[:20]}”应为“户籍”或“常住”"))

    counts: dict[str, int] = {}
    for field, label in (
        ("total", "总人口"),
        ("age_18_plus", "18岁及以上人口"),
        ("age_60_plus", "60岁及以上人口"),
    ):
        n, err = _count(values.get(field), label=label, field=field)
        if err:
            errors.append(err)
        elif n is not None:
            counts[field] = n
    if len(counts) == 3:
        if counts["age_18_plus"] > counts["total"]:
            errors.append(FieldError("age_18_plus", "18岁及以上人口不能多于总人口"))
        if counts["age_60_plus"] > counts["age_18_plus"]:
            errors.append(FieldError("age_60_plus", "60岁及以上人口不能多于18岁及以上人口"))
    if errors or year is None or kind is None:
        return None, errors
    return PopulationRow(code, year, kind, counts["total"], counts["age_18_plus"], counts["age_60_plus"]), []


DAILY_REPORT_DUE = dt.time(17, 0)  # 各乡镇每日下午5时前报县疾控中心


def daily_report_due(day: dt.date) -> dt.datetime:
    """The naive local (Beijing) moment a township's report of ``day`` is due: 17:00 that day."""
    return dt.datetime.combine(day, DAILY_REPORT_DUE)


def coverage(done: int, denominator: int | None) -> Fraction | None:
    """The share of the denominator done (exact); None when there is no denominator to divide by."""
    if not denominator:
        return None
    return Fraction(done, denominator)


def percent_text(share: Fraction | None, *, places: int = 1) -> str:
    """``Fraction(1, 3)`` → "33.3%"; no share → "—". Rounded half up, as a report printed by hand is."""
    if share is None:
        return "—"
    scaled = share * 100 * 10**places
    whole = math.floor(scaled + Fraction(1, 2))
    return f"{whole / 10**places:.{places}f}%"


def daily_quota(*, target: int, done: int, today: dt.date, deadline: dt.date) -> int:
    """People (or doses) a day still needed to reach ``target`` by ``deadline`` (按照人/天的任务量推进):
    what is left spread evenly over the days left, today and the deadline included, rounded up so that
    keeping to it reaches the target. Nothing left → 0; a deadline passed with work left → all of it today."""
    left = max(target - done, 0)
    if left == 0:
        return 0
    days = (deadline - today).days + 1
    if days <= 0:
        return left
    return -(-left // days)

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
from typing import TypeVar

K = TypeVar("K")

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


def _division_and_year(values: dict[str, object], errors: list[FieldError]) -> tuple[str, int | None]:
    """The row's division code padded to 12 digits and its year (``None`` when wrong), each error added to
    ``errors``; shared by the population rows and the priority groups' rows."""
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
    return code, year


def population_row(values: dict[str, object]) -> tuple[PopulationRow | None, list[FieldError]]:
    """Read one row (fields ``division``, ``year``, ``kind``, ``total``, ``age_18_plus``, ``age_60_plus``).

    The division code may be given with or without its zero padding (6 digits for a county, 9 for a
    township, 12 for a village); it is returned padded to 12. The three counts must nest: 60+ ≤ 18+ ≤ total.
    """
    errors: list[FieldError] = []
    code, year = _division_and_year(values, errors)

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


@dataclass(frozen=True)
class GroupPopulationRow:
    """How many people of a priority group (its code) a division counts in a year."""

    division_code: str
    year: int
    group_code: str
    total: int


def group_population_row(values: dict[str, object]) -> tuple[GroupPopulationRow | None, list[FieldError]]:
    """Read one row of a priority group's count (fields ``division``, ``year``, ``group``, ``total``; the kind
    and the age columns are not read). The group is given by its code; whether it exists is the caller's
    check."""
    errors: list[FieldError] = []
    code, year = _division_and_year(values, errors)
    group = str(values.get("group") or "").strip()
    if len(group) > 32:
        errors.append(FieldError("group", f"人群分类代码“{group[:20]}…”超过32个字符"))
    total, err = _count(values.get("total"), label="人数", field="total")
    if err:
        errors.append(err)
    if errors or year is None or total is None or not group:
        return None, errors
    return GroupPopulationRow(code, year, group, total), []


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


# ------------------------------------------------------------------------------- facts kept as doses happen

# Age bands (lower bounds, in years on the day of the event): 3–11, 12–17, 18–59, 60–69, 70–79, 80+; 0 is
# "under 3 or birth date unknown".
BANDS = (0, 3, 12, 18, 60, 70, 80)
BAND_LABELS = {
    0: "不详",
    3: "3-11岁",
    12: "12-17岁",
    18: "18-59岁",
    60: "60-69岁",
    70: "70-79岁",
    80: "80岁及以上",
}


class DoseKind(enum.IntEnum):
    """Which dose of a person's course a dose is: the primary course's 1st, 2nd, 3rd (and later), or a booster."""

    FIRST = 1
    SECOND = 2
    THIRD = 3
    BOOSTER = 4


DOSE_KIND_LABELS = {1: "第1剂", 2: "第2剂", 3: "第3剂", 4: "加强免疫"}


class Event(enum.IntEnum):
    """A step of a person's progress, counted on the day it happened."""

    FIRST_DOSE = 1
    COMPLETED = 2
    BOOSTER = 3


def age_years(birth: dt.date, on: dt.date) -> int:
    """Whole years of age on ``on`` (a 29 February birthday falls on 1 March in other years)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def age_band(birth: dt.date | None, on: dt.date) -> int:
    """The band (its lower bound) of a person's age on ``on``; 0 when the birth date is unknown."""
    if birth is None:
        return 0
    age = age_years(birth, on)
    band = 0
    for low in BANDS:
        if age >= low:
            band = low
    return band


@dataclass(frozen=True)
class StandingDose:
    """A standing (not voided) dose as the facts see it. ``order`` sorts doses given on one day (the dose's
    id; a dose not yet written sorts last)."""

    given_on: dt.date
    order: int
    product_code: str
    site_id: int  # 0: given elsewhere (an external dose) or without a site
    is_booster: bool


@dataclass(frozen=True)
class PersonFacts:
    """Where a person counts (their village, age, sex, group, employer) and what their doses add up to."""

    village_code: str
    birth_date: dt.date | None
    sex: str
    group_id: int  # 0: none
    employer_id: int  # 0: none
    doses: tuple[tuple[dt.date, int, str, int], ...]  # (day, site, product, kind) per standing dose
    first_on: dt.date | None
    completed_on: dt.date | None
    booster_on: dt.date | None


def classify(
    doses: list[StandingDose], primary: dict[str, int], *, default_primary: int = 2
) -> tuple[list[int], dt.date | None, dt.date | None, dt.date | None]:
    """Each dose's kind and the days of the person's first dose, completed primary course and first booster.

    In date order (then ``order``): a dose recorded as a booster is a booster; any other dose is the next
    dose of the primary course (1, 2, 3; a 4th or later counts as 3) until the course is complete — the
    n-th such dose where n is the primary course of that dose's product (``primary``: product → doses) —
    and a booster after. The first dose is the first standing dose of any kind."""
    ordered = sorted(doses, key=lambda d: (d.given_on, d.order))
    kinds: list[int] = []
    primary_count = 0
    completed_on: dt.date | None = None
    booster_on: dt.date | None = None
    for d in ordered:
        if d.is_booster or completed_on is not None:
            kinds.append(DoseKind.BOOSTER)
            if booster_on is None:
                booster_on = d.given_on
            continue
        primary_count += 1
        kinds.append(min(primary_count, 3))
        if primary_count >= primary.get(d.product_code, default_primary):
            completed_on = d.given_on
    first_on = ordered[0].given_on if ordered else None
    return kinds, first_on, completed_on, booster_on


def person_facts(
    *,
    village_code: str,
    birth_date: dt.date | None,
    sex: str,
    group_id: int,
    employer_id: int,
    doses: list[StandingDose],
    primary: dict[str, int],
) -> PersonFacts:
    ordered = sorted(doses, key=lambda d: (d.given_on, d.order))
    kinds, first_on, completed_on, booster_on = classify(ordered, primary)
    return PersonFacts(
        village_code=village_code,
        birth_date=birth_date,
        sex=sex,
        group_id=group_id,
        employer_id=employer_id,
        doses=tuple(
            sorted((d.given_on, d.site_id, d.product_code, k) for d, k in zip(ordered, kinds, strict=True))
        ),
        first_on=first_on,
        completed_on=completed_on,
        booster_on=booster_on,
    )


DoseKey = tuple[dt.date, str, int, str, int]  # day, village, site, product, kind
PeopleKey = tuple[dt.date, str, int, int, str, int, int]  # day, village, event, band, sex, group, employer


def dose_keys(p: PersonFacts | None) -> dict[DoseKey, int]:
    """What a person's doses add to the dose facts."""
    out: dict[DoseKey, int] = {}
    if p is None:
        return out
    for day, site, product, kind in p.doses:
        key = (day, p.village_code, site, product, kind)
        out[key] = out.get(key, 0) + 1
    return out


def people_keys(p: PersonFacts | None) -> dict[PeopleKey, int]:
    """What a person adds to the people facts: one for each step reached, on its day, in its age band."""
    out: dict[PeopleKey, int] = {}
    if p is None:
        return out
    for event, day in (
        (Event.FIRST_DOSE, p.first_on),
        (Event.COMPLETED, p.completed_on),
        (Event.BOOSTER, p.booster_on),
    ):
        if day is not None:
            key = (
                day,
                p.village_code,
                int(event),
                age_band(p.birth_date, day),
                p.sex,
                p.group_id,
                p.employer_id,
            )
            out[key] = out.get(key, 0) + 1
    return out


def difference(new: dict[K, int], old: dict[K, int]) -> dict[K, int]:
    """new − old, without the keys that did not change."""
    out = {k: n - old.get(k, 0) for k, n in new.items()}
    out.update({k: -n for k, n in old.items() if k not in new})
    return {k: n for k, n in out.items() if n}


def doses_text(doses: tuple[tuple[dt.date, int, str, int], ...]) -> str:
    """The stored form of a person's dose contributions: ``day|site|product|kind`` joined by ``;``."""
    return ";".join(f"{day.isoformat()}|{site}|{product}|{kind}" for day, site, product, kind in doses)


def doses_from_text(text: str) -> tuple[tuple[dt.date, int, str, int], ...]:
    out = []
    for part in filter(None, (text or "").split(";")):
        day, site, product, kind = part.split("|")
        out.append((dt.date.fromisoformat(day), int(site), product, int(kind)))
    return tuple(sorted(out))


# ------------------------------------------------------------------ the dashboard and the weekly bulletin


class Band(enum.StrEnum):
    """A bulletin's colour for a unit (乡镇 or 单位): 绿 on track, 黄 behind, 红 far behind."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def label(self) -> str:
        return {"green": "绿", "yellow": "黄", "red": "红"}[self.value]


# A unit is 绿 when its coverage reaches COVERAGE_GREEN or it did at least PROGRESS_GREEN of its week's quota;
# 红 when its coverage is below COVERAGE_RED and it did less than PROGRESS_RED of its quota; 黄 otherwise.
COVERAGE_GREEN = Fraction(90, 100)
COVERAGE_RED = Fraction(60, 100)
PROGRESS_GREEN = Fraction(100, 100)
PROGRESS_RED = Fraction(60, 100)


def band(coverage: Fraction | None, progress: Fraction | None) -> Band:
    """The colour of a unit from its coverage (people with a first dose ÷ population) and its week's progress
    (people vaccinated in the week ÷ the week's quota). A missing figure counts as not reached."""
    cov = coverage if coverage is not None else Fraction(0)
    if cov >= COVERAGE_GREEN or (progress is not None and progress >= PROGRESS_GREEN):
        return Band.GREEN
    if cov < COVERAGE_RED and (progress is None or progress < PROGRESS_RED):
        return Band.RED
    return Band.YELLOW


@dataclass(frozen=True)
class Ranked:
    key: str
    rank: int
    value: Fraction | None


def rank(values: dict[str, Fraction | None]) -> list[Ranked]:
    """Units ranked by a share, highest first; ties share a rank (1, 2, 2, 4); units without a figure come
    last, unranked (rank 0), in key order."""
    known = sorted(((k, v) for k, v in values.items() if v is not None), key=lambda kv: (-kv[1], kv[0]))
    out: list[Ranked] = []
    previous: Fraction | None = None
    current = 0
    for position, (key, value) in enumerate(known, start=1):
        if value != previous:
            current = position
            previous = value
        out.append(Ranked(key, current, value))
    out += [Ranked(k, 0, None) for k in sorted(k for k, v in values.items() if v is None)]
    return out


def week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The Monday-to-Sunday week holding ``day``."""
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=6)


def week_label(monday: dt.date) -> str:
    """ "2021年第23周（6月7日—6月13日）" for the ISO week starting on ``monday``."""
    year, number, _ = monday.isocalendar()
    sunday = monday + dt.timedelta(days=6)
    return f"{year}年第{number}周（{monday.month}月{monday.day}日—{sunday.month}月{sunday.day}日）"


def change(current: int, previous: int) -> tuple[int, Fraction | None]:
    """The change of a weekly count against the week before: the difference and its share of the earlier
    figure (None when the earlier week had none)."""
    return current - previous, (Fraction(current - previous, previous) if previous else None)


def quota_for_day(
    *, day: dt.date, starts_on: dt.date, deadline: dt.date | None, target: int, quota: int | None
) -> int:
    """A target's daily quota (人/天) on ``day``: the quota set by hand, else the target spread evenly over the
    days from the phase's start to the deadline (rounded up); 0 outside that window or without a deadline."""
    if day < starts_on or (deadline is not None and day > deadline):
        return 0
    if quota is not None:
        return quota
    if deadline is None:
        return 0
    days = (deadline - starts_on).days + 1
    return -(-target // days)


def bucket_start(day: dt.date, *, weekly: bool) -> dt.date:
    """The first day of the series point ``day`` falls in: itself, or the Monday of its week."""
    return week_of(day)[0] if weekly else day


def person_facts_with(
    old: PersonFacts | None,
    *,
    village_code: str,
    birth_date: dt.date | None,
    sex: str,
    group_id: int,
    employer_id: int,
    dose: StandingDose,
    primary: dict[str, int],
    last_of_its_day: bool,
    default_primary: int = 2,
) -> PersonFacts | None:
    """A person's facts with one more standing dose, from what their doses added up to before (``old``, None:
    no dose yet) — the same as ``person_facts`` over all their doses when the new dose comes after every earlier
    one: on a later day, or on the same day when ``last_of_its_day`` (a dose not yet written sorts last of its
    day). Otherwise None: the caller counts the person anew from their records."""
    earlier = old.doses if old is not None else ()
    if earlier:
        last_day = earlier[-1][0]  # sorted by day first
        if dose.given_on < last_day or (dose.given_on == last_day and not last_of_its_day):
            return None
    completed_on = old.completed_on if old is not None else None
    booster_on = old.booster_on if old is not None else None
    if dose.is_booster or completed_on is not None:
        kind = int(DoseKind.BOOSTER)
        if booster_on is None:
            booster_on = dose.given_on
    else:
        count = 1 + sum(1 for d in earlier if d[3] != DoseKind.BOOSTER)
        kind = min(count, 3)
        if count >= primary.get(dose.product_code, default_primary):
            completed_on = dose.given_on
    first_on = old.first_on if old is not None and old.first_on is not None else dose.given_on
    return PersonFacts(
        village_code=village_code,
        birth_date=birth_date,
        sex=sex,
        group_id=group_id,
        employer_id=employer_id,
        doses=tuple(sorted((*earlier, (dose.given_on, dose.site_id, dose.product_code, kind)))),
        first_on=first_on,
        completed_on=completed_on,
        booster_on=booster_on,
    )

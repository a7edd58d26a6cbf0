"""Reads of the progress reports.

``daily_report`` counts from the records themselves (standing doses, desk and external alike, each person
counted where they live): the exact figures every faster path must equal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.utils.translation import gettext as _

from vaxops.accounts.scope import Scope, scope_for
from vaxops.core.errors import NotFound, PermissionDenied
from vaxops.jurisdictions.models import Division, Level

from . import domain
from .errors import ReportsErrorCode
from .models import Population

COUNTS = (
    "doses_today",
    "doses_cumulative",
    "dose1_today",
    "dose2_today",
    "dose3_today",
    "booster_doses_today",
    "dose1_cumulative",
    "dose2_cumulative",
    "dose3_cumulative",
    "booster_doses_cumulative",
    "people_first_dose_today",
    "people_first_dose_cumulative",
    "people_completed_today",
    "people_completed_cumulative",
    "people_booster_today",
    "people_booster_cumulative",
    "people_60_plus_first_dose_cumulative",
    "people_60_plus_completed_cumulative",
    "stock_on_hand",
    "adverse_events_today",
)
_KIND_KEYS = {1: "dose1", 2: "dose2", 3: "dose3", 4: "booster_doses"}
_EVENT_KEYS = {1: "people_first_dose", 2: "people_completed", 3: "people_booster"}


def _share(done: int, denominator: int | None) -> str | None:
    share = domain.coverage(done, denominator)
    return domain.percent_text(share) if share is not None else None


@dataclass
class DailyRow:
    division: str
    name: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    population: int | None = None
    population_60_plus: int | None = None
    target_people: int | None = None
    target_doses: int | None = None

    def as_dict(self) -> dict:
        c = self.counts
        return {
            "division": self.division,
            "name": self.name,
            **c,
            "population": self.population,
            "coverage_first_dose": _share(c["people_first_dose_cumulative"], self.population),
            "coverage_completed": _share(c["people_completed_cumulative"], self.population),
            "coverage_booster": _share(c["people_booster_cumulative"], self.population),
            "population_60_plus": self.population_60_plus,
            "coverage_60_plus_first_dose": _share(
                c["people_60_plus_first_dose_cumulative"], self.population_60_plus
            ),
            "coverage_60_plus_completed": _share(
                c["people_60_plus_completed_cumulative"], self.population_60_plus
            ),
            "target_people": self.target_people,
            "target_doses": self.target_doses,
            "coverage_target_people": _share(c["people_first_dose_cumulative"], self.target_people),
            "coverage_target_doses": _share(c["doses_cumulative"], self.target_doses),
        }


def actor_scope(actor) -> Scope:
    """A signed-in user's scope; the system actor (commands, jobs) sees every division."""
    if getattr(actor, "pk", None) is None:
        return Scope(unrestricted=True, label="全部")
    return scope_for(actor)


def report_division(*, scope: Scope, code: str | None) -> Division:
    """The division a report is asked for (the scope's own when none is named), refused outside the scope."""
    if code is None:
        if scope.unrestricted:
            division = Division.objects.filter(level=Level.COUNTY).order_by("code").first()
        elif scope.code_low is not None:
            division = (
                Division.objects.filter(code__gte=scope.code_low, code__lte=scope.code_high)
                .order_by("level", "code")
                .first()
            )
        else:
            division = None
        if division is None:
            raise NotFound(_("没有可统计的行政区划"), code=ReportsErrorCode.NO_DIVISION)
        return division
    padded = code.strip().ljust(12, "0")
    division = Division.objects.filter(code=padded).first()
    if division is None:
        raise NotFound(
            _("行政区划不存在：%(code)s") % {"code": code},
            field="division",
            code=ReportsErrorCode.DIVISION_NOT_FOUND,
        )
    if not scope.covers_code(division.code):
        raise PermissionDenied(
            _("该行政区划不在您的管辖范围内"), field="division", code=ReportsErrorCode.DIVISION_OUT_OF_SCOPE
        )
    if division.level > Level.TOWNSHIP:
        raise NotFound(
            _("日报表按乡镇（街道）填报，请选择县或乡镇"),
            field="division",
            code=ReportsErrorCode.DIVISION_LEVEL,
        )
    return division


def _daily_counts_recount(*, day: dt.date, low: str, high: str) -> dict[str, dict[str, int]]:
    """The report's counts per township prefix, recounted from the dose records by GROUP BY (the reference the
    facts must equal, and the raw database's figure in the benchmark)."""
    from .services import primary_doses

    primary = primary_doses()
    out: dict[str, dict[str, int]] = {}
    classified, params = classified_doses_sql(primary)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT substr(k.village_code, 1, 9), k.kind,
                       SUM(CASE WHEN k.given_on = %s THEN 1 ELSE 0 END), COUNT(*)
                FROM ({classified}) k
                WHERE k.given_on <= %s AND k.village_code >= %s AND k.village_code <= %s
                GROUP BY substr(k.village_code, 1, 9), k.kind""",  # noqa: S608
            [day, *params, day, low, high],
        )
        for township, kind, today, cumulative in cursor.fetchall():
            row = out.setdefault(township, dict.fromkeys(COUNTS, 0))
            row[f"{_KIND_KEYS[int(kind)]}_today"] += int(today or 0)
            row[f"{_KIND_KEYS[int(kind)]}_cumulative"] += int(cumulative or 0)
        progress, params = progress_sql(primary)
        parts, values = [], []
        for column in ("first_on", "completed_on", "booster_on"):
            parts.append(f"SUM(CASE WHEN p.{column} = %s THEN 1 ELSE 0 END)")
            parts.append(f"SUM(CASE WHEN p.{column} <= %s THEN 1 ELSE 0 END)")
            values += [day, day]
        for column in ("first_on", "completed_on"):
            parts.append(
                f"SUM(CASE WHEN p.{column} <= %s AND {band_sql('p.birth_date', 'p.' + column)} >= 60 "
                "THEN 1 ELSE 0 END)"
            )
            values.append(day)
        cursor.execute(
            f"SELECT substr(p.village_code, 1, 9), {', '.join(parts)} FROM ({progress}) p "  # noqa: S608
            "WHERE p.village_code >= %s AND p.village_code <= %s GROUP BY substr(p.village_code, 1, 9)",
            [*values, *params, low, high],
        )
        names = [f"{_EVENT_KEYS[e]}_{when}" for e in (1, 2, 3) for when in ("today", "cumulative")] + [
            "people_60_plus_first_dose_cumulative",
            "people_60_plus_completed_cumulative",
        ]
        for township, *counts in cursor.fetchall():
            row = out.setdefault(township, dict.fromkeys(COUNTS, 0))
            for name, n in zip(names, counts, strict=True):
                row[name] = int(n or 0)
    return out


def _daily_counts(*, day: dt.date, low: str, high: str) -> dict[str, dict[str, int]]:
    """The report's counts per township prefix, read from the facts."""
    out: dict[str, dict[str, int]] = {}

    def row(township: str) -> dict[str, int]:
        return out.setdefault(township, dict.fromkeys(COUNTS, 0))

    keys = f"{_TOWNSHIP}, kind"
    for (township, kind), n in _sums(kind="dose", keys=keys, low=low, high=high, day=day, op="=").items():
        row(township)[f"{_KIND_KEYS[int(kind)]}_today"] += n
    for (township, kind), n in _sums(kind="dose", keys=keys, low=low, high=high, day=day).items():
        row(township)[f"{_KIND_KEYS[int(kind)]}_cumulative"] += n
    keys = f"{_TOWNSHIP}, event"
    for (township, event), n in _sums(kind="people", keys=keys, low=low, high=high, day=day, op="=").items():
        row(township)[f"{_EVENT_KEYS[int(event)]}_today"] += n
    for (township, event), n in _sums(kind="people", keys=keys, low=low, high=high, day=day).items():
        row(township)[f"{_EVENT_KEYS[int(event)]}_cumulative"] += n
    old = _sums(kind="people", keys=keys, low=low, high=high, day=day, where="band >= 60 AND event <= 2")
    for (township, event), n in old.items():
        row(township)[
            "people_60_plus_first_dose_cumulative"
            if int(event) == 1
            else "people_60_plus_completed_cumulative"
        ] += n
    return out


def daily_report(
    *, scope: Scope, day: dt.date, division_code: str | None = None, recount: bool = False
) -> dict:
    """The 日报表 of ``day`` for the townships of a county (or one township), read from the facts (or, with
    ``recount``, counted from the dose records: the same figures, slower).

    Doses are standing (not voided) doses given on or before ``day``, desk and external alike, by dose kind
    (``domain.classify``); people are counted by the village they live in; a person's first dose is their
    first standing dose ever; "60+" is the age on the day of the step; coverage is against the 户籍
    population of the year (or the latest year before it) and against the targets of the phases begun."""
    division = report_division(scope=scope, code=division_code)
    low, high = division.code_range
    townships = list(
        Division.objects.filter(level=Level.TOWNSHIP, code__gte=low, code__lte=high).order_by("code")
    )
    if division.level == Level.TOWNSHIP:
        townships = [division]
    rows = {t.code[:9]: DailyRow(t.code, t.name) for t in townships}
    counted = (_daily_counts_recount if recount else _daily_counts)(day=day, low=low, high=high)
    for township, counts in counted.items():
        row = rows.get(township)
        if row is not None:
            row.counts.update(counts)
    stock = stock_on_hand(low=low, high=high)
    events = adverse_events_today(codes=[t.code for t in townships], day=day)
    for prefix, row in rows.items():
        c = row.counts
        c["doses_today"] = sum(c[f"{k}_today"] for k in _KIND_KEYS.values())
        c["doses_cumulative"] = sum(c[f"{k}_cumulative"] for k in _KIND_KEYS.values())
        c["stock_on_hand"] = stock.get(prefix, 0)
        c["adverse_events_today"] = events.get(row.division, 0)
    codes = [d.code for d in [*townships, division]]
    populations = _populations(codes, year=day.year)
    planned = targets(codes=codes, day=day)
    for row in rows.values():
        row.population, row.population_60_plus = populations.get(row.division, (None, None))
        row.target_people, row.target_doses = planned.get(row.division, (None, None))
    total = DailyRow(division.code, division.name)
    for row in rows.values():
        for key in COUNTS:
            total.counts[key] += row.counts[key]
    if division.level != Level.TOWNSHIP:
        total.counts["stock_on_hand"] += stock.get(division.code[:9], 0)  # the county's own stores
    total.population, total.population_60_plus = populations.get(division.code, (None, None))
    total.target_people, total.target_doses = planned.get(division.code, (None, None))
    return {
        "date": day.isoformat(),
        "division": division.code,
        "name": division.name,
        "rows": [r.as_dict() for r in rows.values()],
        "total": total.as_dict(),
    }


def _populations(codes: list[str], *, year: int) -> dict[str, tuple[int, int]]:
    """(everyone, aged 60+) per division code: 户籍 population of the year, else the latest year before it."""
    found: dict[str, tuple[int, int]] = {}
    qs = (
        Population.objects.filter(
            division__code__in=codes, year__lte=year, kind=domain.PopulationKind.REGISTERED.value
        )
        .order_by("division__code", "-year")
        .values_list("division__code", "total", "age_60_plus")
    )
    for code, total, old in qs:
        found.setdefault(code, (total, old))
    return found


@dataclass
class TownshipStatus:
    """A township's report of the day: its live figures, and whether and when it was confirmed."""

    code: str
    name: str
    figures: dict
    confirmed: object | None  # the latest DailyReport, if any
    late: bool


def daily_status(
    *, scope: Scope, day: dt.date, division_code: str | None = None
) -> tuple[dict, list[TownshipStatus]]:
    """The day's report (as ``daily_report``) with each township's confirmation and lateness."""
    from .models import DailyReport, DailyReportLate

    report = daily_report(scope=scope, day=day, division_code=division_code)
    codes = [r["division"] for r in report["rows"]]
    latest: dict[str, DailyReport] = {}
    for r in (
        DailyReport.objects.filter(day=day, township__code__in=codes)
        .select_related("township", "confirmed_by")
        .order_by("township__code", "-version")
    ):
        latest.setdefault(r.township.code, r)
    late = set(
        DailyReportLate.objects.filter(day=day, township__code__in=codes).values_list(
            "township__code", flat=True
        )
    )
    return report, [
        TownshipStatus(r["division"], r["name"], r, latest.get(r["division"]), r["division"] in late)
        for r in report["rows"]
    ]


# ------------------------------------------------------------------------------- the facts, recounted


def _primary_case(primary: dict[str, int], *, column: str = "product_code") -> tuple[str, list]:
    """``CASE product WHEN … THEN n … ELSE 2 END`` with the products as parameters."""
    if not primary:
        return "2", []
    parts, params = [], []
    for code, n in sorted(primary.items()):
        parts.append("WHEN %s THEN %s")
        params.extend([code, int(n)])
    return f"CASE {column} " + " ".join(parts) + " ELSE 2 END", params


def classified_doses_sql(primary: dict[str, int]) -> tuple[str, list]:
    """Every standing dose with its kind (``domain.classify`` in SQL, one pass of window functions), whether it
    completes its person's primary course, and where its person counts: columns resident_id, given_on,
    product_code, site_id, kind, completes, village_code, birth_date, sex, group_id, employer_id."""
    need, params = _primary_case(primary)
    sql = f"""
SELECT k.resident_id, k.given_on, k.product_code, k.site_id,
       CASE WHEN k.is_booster OR (k.c IS NOT NULL AND k.r > k.c) THEN 4 WHEN k.r >= 3 THEN 3 ELSE k.r END AS kind,
       CASE WHEN NOT k.is_booster AND k.r = k.c THEN 1 ELSE 0 END AS completes,
       r.village_code, r.birth_date, r.sex, COALESCE(r.priority_group_id, 0) AS group_id,
       COALESCE(r.employer_id, 0) AS employer_id
FROM (
    SELECT n.*, MIN(CASE WHEN NOT n.is_booster AND n.r >= n.need THEN n.r END)
                OVER (PARTITION BY n.resident_id) AS c
    FROM (
        SELECT resident_id, given_on, product_code, COALESCE(site_id, 0) AS site_id, is_booster,
               {need} AS need,
               ROW_NUMBER() OVER (PARTITION BY resident_id, is_booster ORDER BY given_on, id) AS r
        FROM clinic_dose WHERE voided_at IS NULL
    ) n
) k JOIN registry_resident r ON r.id = k.resident_id
"""  # noqa: S608
    return sql, params


def age_sql(birth: str, day: str) -> str:
    """``domain.age_years`` as an SQL expression: (yyyymmdd of the day − yyyymmdd of birth) ÷ 10000, whole."""
    if connection.vendor == "postgresql":
        return (
            f"((CAST(to_char({day}, 'YYYYMMDD') AS integer) - CAST(to_char({birth}, 'YYYYMMDD') AS integer))"
            " / 10000)"
        )
    return (
        f"((CAST(replace({day}, '-', '') AS INTEGER) - CAST(replace({birth}, '-', '') AS INTEGER)) / 10000)"
    )


def band_of_age_sql(age: str) -> str:
    """``domain.age_band`` of an age column (NULL: birth date unknown → 0)."""
    whens = " ".join(f"WHEN {age} >= {low} THEN {low}" for low in sorted(domain.BANDS, reverse=True) if low)
    return f"CASE WHEN {age} IS NULL THEN 0 {whens} ELSE 0 END"


def band_sql(birth: str, day: str) -> str:
    """``domain.age_band`` of ``birth`` on ``day`` as an SQL expression (SQLite or PostgreSQL)."""
    return band_of_age_sql(age_sql(birth, day))


def progress_sql(primary: dict[str, int], *, source: str | None = None) -> tuple[str, list]:
    """Each person with a standing dose: where they count, the days of their steps and their doses' text
    (columns as ``PersonProgress``), from the classified doses (or ``source``, a table of them)."""
    if source is None:
        classified, params = classified_doses_sql(primary)
        source = f"({classified})"
    else:
        params = []
    part = (
        "CAST(k.given_on AS TEXT) || '|' || CAST(k.site_id AS TEXT) || '|' || k.product_code || '|' "
        "|| CAST(k.kind AS TEXT)"
    )
    agg = f"string_agg({part}, ';')" if connection.vendor == "postgresql" else f"group_concat({part}, ';')"
    sql = f"""
SELECT k.resident_id AS resident_id, k.village_code AS village_code, k.birth_date AS birth_date, k.sex AS sex,
       k.group_id AS group_id, k.employer_id AS employer_id,
       MIN(k.given_on) AS first_on, MIN(CASE WHEN k.completes = 1 THEN k.given_on END) AS completed_on,
       MIN(CASE WHEN k.kind = 4 THEN k.given_on END) AS booster_on, {agg} AS doses
FROM {source} k
GROUP BY k.resident_id, k.village_code, k.birth_date, k.sex, k.group_id, k.employer_id
"""  # noqa: S608
    return sql, params


def dose_facts_sql(primary: dict[str, int], *, source: str | None = None) -> tuple[str, list]:
    if source is None:
        classified, params = classified_doses_sql(primary)
        source = f"({classified})"
    else:
        params = []
    sql = f"""
SELECT k.given_on, k.village_code, k.site_id, k.product_code, k.kind, COUNT(*)
FROM {source} k
GROUP BY k.given_on, k.village_code, k.site_id, k.product_code, k.kind
"""  # noqa: S608
    return sql, params


CLASSIFIED_TEMP = "reports_classified_tmp"


def classified_temp_create(cursor, primary: dict[str, int]) -> str:
    """The classified doses once, in a temporary table (the rebuild and the check read it twice)."""
    cursor.execute(f"DROP TABLE IF EXISTS {CLASSIFIED_TEMP}")
    sql, params = classified_doses_sql(primary)
    cursor.execute(f"CREATE TEMPORARY TABLE {CLASSIFIED_TEMP} AS {sql}", params)  # noqa: S608
    return CLASSIFIED_TEMP


def people_facts_sql(source: str, params: list) -> tuple[str, list]:
    """People facts from a progress source (the table, or ``progress_sql`` as a subquery with the columns
    resident_id … booster_on); the age is worked out once per step, then its band."""
    parts = []
    for event, column in ((1, "first_on"), (2, "completed_on"), (3, "booster_on")):
        parts.append(
            f"SELECT p.{column} AS day, p.village_code, {event} AS event, "  # noqa: S608
            f"{age_sql('p.birth_date', 'p.' + column)} AS age, p.sex, p.group_id, p.employer_id "
            f"FROM {source} p WHERE p.{column} IS NOT NULL"
        )
    sql = (
        f"SELECT day, village_code, event, {band_of_age_sql('age')} AS band, sex, group_id, employer_id, "  # noqa: S608
        "COUNT(*) FROM (" + " UNION ALL ".join(parts) + ") e "
        f"GROUP BY day, village_code, event, {band_of_age_sql('age')}, sex, group_id, employer_id"
    )
    return sql, params * 3


def facts_recount(*, primary: dict[str, int]) -> dict[str, dict[tuple, int]]:
    """The four fact tables as a recount of the records would fill them (no row with n = 0)."""
    out: dict[str, dict[tuple, int]] = {}
    with connection.cursor() as cursor:
        source = classified_temp_create(cursor, primary)
        try:
            dsql, dparams = dose_facts_sql(primary, source=source)
            cursor.execute(dsql, dparams)
            out["dose"] = {_key(row[:-1]): int(row[-1]) for row in cursor.fetchall()}
            sql, params = progress_sql(primary, source=source)
            psql, pparams = people_facts_sql(f"({sql})", params)
            cursor.execute(psql, pparams)
            out["people"] = {_key(row[:-1]): int(row[-1]) for row in cursor.fetchall()}
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {source}")
    out["dose_total"] = _without_day(out["dose"])
    out["people_total"] = _without_day(out["people"])
    return out


def facts_stored() -> dict[str, dict[tuple, int]]:
    """The four fact tables as they are (no row with n = 0)."""
    out: dict[str, dict[tuple, int]] = {}
    tables = {
        "dose": ("reports_dosefact", "day, village_code, site_id, product_code, kind"),
        "dose_total": ("reports_dosetotal", "village_code, site_id, product_code, kind"),
        "people": ("reports_peoplefact", "day, village_code, event, band, sex, group_id, employer_id"),
        "people_total": ("reports_peopletotal", "village_code, event, band, sex, group_id, employer_id"),
    }
    with connection.cursor() as cursor:
        for name, (table, cols) in tables.items():
            cursor.execute(f"SELECT {cols}, n FROM {table} WHERE n <> 0")  # noqa: S608
            out[name] = {_key(row[:-1]): int(row[-1]) for row in cursor.fetchall()}
    return out


def _key(row) -> tuple:
    return tuple(
        v.isoformat() if isinstance(v, dt.date) else (int(v) if isinstance(v, bool | int) else v) for v in row
    )


def _without_day(rows: dict[tuple, int]) -> dict[tuple, int]:
    out: dict[tuple, int] = {}
    for key, n in rows.items():
        out[key[1:]] = out.get(key[1:], 0) + n
    return {k: n for k, n in out.items() if n}


def facts_differences(*, primary: dict[str, int], limit: int = 50) -> dict:
    """Recount the facts from the records and compare with the stored ones: ``{"ok", "differences": [{table,
    key, expected, stored}], "count"}`` (at most ``limit`` differences listed, all counted)."""
    expected, stored = facts_recount(primary=primary), facts_stored()
    diffs = []
    for table in ("dose", "dose_total", "people", "people_total"):
        e, s = expected[table], stored[table]
        for key in sorted(set(e) | set(s), key=str):
            if e.get(key, 0) != s.get(key, 0):
                diffs.append(
                    {"table": table, "key": list(key), "expected": e.get(key, 0), "stored": s.get(key, 0)}
                )
    return {
        "ok": not diffs,
        "count": len(diffs),
        "differences": diffs[:limit],
        "rows": {t: len(expected[t]) for t in expected},
    }


# ------------------------------------------------------------------------------- reads of the facts
#
# Every figure below is read from the facts, never from the doses. A figure "as of a day" is the sum of the
# facts on or before it; when the day is nearer the last fact than the first, it is read as the total less
# the facts after it (the dashboard's day is usually today: nothing after it).

_TOWNSHIP = "substr(village_code, 1, 9)"


def _span(table: str) -> tuple[dt.date | None, dt.date | None]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(day), MAX(day) FROM {table}")  # noqa: S608
        low, high = cursor.fetchone()
    return _as_date(low), _as_date(high)


def _as_date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _sums(
    *, kind: str, keys: str, low: str, high: str, day: dt.date | None, op: str = "<=", where: str = ""
) -> dict[tuple, int]:
    """SUM(n) grouped by ``keys`` from the dose (``kind="dose"``) or people facts of villages ``low``–``high``:
    as of ``day`` (``op`` "<="), on it ("="), after it (">"), or in total (``day`` None)."""
    table = {"dose": "reports_dosefact", "people": "reports_peoplefact"}[kind]
    params: list = []
    conditions = ["village_code >= %s", "village_code <= %s"]
    params += [low, high]
    if day is not None and op == "<=":
        first, last = _span(table)
        if first is None or day < first:
            return {}
        if last is not None and day >= last:
            day = None
        elif last is not None and first is not None and (day - first) > (last - day):
            totals = _sums(kind=kind, keys=keys, low=low, high=high, day=None, where=where)
            for key, n in _sums(
                kind=kind, keys=keys, low=low, high=high, day=day, op=">", where=where
            ).items():
                totals[key] = totals.get(key, 0) - n
            return {k: n for k, n in totals.items() if n}
    if day is None:
        table = {"dose": "reports_dosetotal", "people": "reports_peopletotal"}[kind]
    else:
        conditions.append(f"day {op} %s")
        params.append(day)
    if where:
        conditions.append(where)
    sql = (
        f"SELECT {keys}, SUM(n) FROM {table} WHERE {' AND '.join(conditions)} "  # noqa: S608
        f"GROUP BY {keys}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {tuple(row[:-1]): int(row[-1]) for row in cursor.fetchall() if row[-1]}


def adverse_events_today(*, codes: list[str], day: dt.date) -> dict[str, int]:
    """Suspected adverse events reported on ``day`` per township code (疑似预防接种异常反应), by the township
    the person lives in (safety's reports)."""
    from vaxops.safety.selectors import aefi_by_township

    return aefi_by_township(codes=codes, day=day)


def stock_on_hand(*, low: str, high: str) -> dict[str, int]:
    """Doses in stock now at the places (stores and sites) of each township (9-digit prefix) in the range."""
    from django.db.models import Sum

    from vaxops.supply.models import StockBalance

    out: dict[str, int] = {}
    rows = (
        StockBalance.objects.filter(place__division__code__gte=low, place__division__code__lte=high)
        .values_list("place__division__code")
        .annotate(d=Sum("doses"))
    )
    for code, doses in rows:
        out[code[:9]] = out.get(code[:9], 0) + int(doses or 0)
    return out


def targets(*, codes: list[str], day: dt.date) -> dict[str, tuple[int, int | None]]:
    """(people, doses) planned per division code by the phases begun on or before ``day`` (目标人数、剂次)."""
    from vaxops.catalog.models import PhaseTarget

    out: dict[str, tuple[int, int | None]] = {}
    for code, people, doses in PhaseTarget.objects.filter(
        division__code__in=codes, phase__starts_on__lte=day
    ).values_list("division__code", "target_people", "target_doses"):
        p, d = out.get(code, (0, None))
        out[code] = (p + people, (d or 0) + doses if doses is not None else d)
    return out


# ------------------------------------------------------------------------------- the dashboard's reads
#
# Public names the dashboard and the weekly bulletin use; each reads only the facts (and the small tables of
# denominators, targets and sites), scoped: a township's user sees its township, the county's the county.

_STEPS = {1: "people_first_dose", 2: "people_completed", 3: "people_booster"}


def _scope_division(scope: Scope, division_code: str | None = None) -> Division:
    return report_division(scope=scope, code=division_code)


def _people_row(counts: dict[int, int], population: int | None) -> dict:
    row: dict = {name: counts.get(event, 0) for event, name in _STEPS.items()}
    row["population"] = population
    row["coverage_first_dose"] = _share(row["people_first_dose"], population)
    row["coverage_completed"] = _share(row["people_completed"], population)
    row["coverage_booster"] = _share(row["people_booster"], population)
    return row


def dose_series(*, scope: Scope, start: dt.date, end: dt.date, division_code: str | None = None) -> dict:
    """Standing doses given each day from ``start`` to ``end`` (both included) to the people of the scope's
    division, by dose kind: ``{"division", "name", "days": [{"date", "dose1", "dose2", "dose3", "booster",
    "total"}]}`` with every day present (zeros included)."""
    division = _scope_division(scope, division_code)
    low, high = division.code_range
    by_day: dict[dt.date, dict[str, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT day, kind, SUM(n) FROM reports_dosefact WHERE day >= %s AND day <= %s "
            "AND village_code >= %s AND village_code <= %s GROUP BY day, kind",
            [start, end, low, high],
        )
        for day, kind, n in cursor.fetchall():
            key = {1: "dose1", 2: "dose2", 3: "dose3", 4: "booster"}[int(kind)]
            by_day.setdefault(_as_date(day), {})[key] = int(n or 0)
    days = []
    day = start
    while day <= end:
        counts = by_day.get(day, {})
        row = {
            "date": day.isoformat(),
            **{k: counts.get(k, 0) for k in ("dose1", "dose2", "dose3", "booster")},
        }
        row["total"] = row["dose1"] + row["dose2"] + row["dose3"] + row["booster"]
        days.append(row)
        day += dt.timedelta(days=1)
    return {"division": division.code, "name": division.name, "days": days}


def coverage_by_division(*, scope: Scope, day: dt.date, division_code: str | None = None) -> dict:
    """The children of a division (a county's townships, a township's villages) as of ``day``: people with a
    first dose, a completed primary course and a booster, the 户籍 population and the coverage of each:
    ``{"division", "name", "rows": [{"division", "name", "people_first_dose", …, "coverage_first_dose", …}],
    "total": {…}}``."""
    division = _scope_division(scope, division_code)
    low, high = division.code_range
    child_level = Level.VILLAGE if division.level >= Level.TOWNSHIP else Level.TOWNSHIP
    length = 12 if child_level == Level.VILLAGE else 9
    children = list(
        Division.objects.filter(level=child_level, code__gte=low, code__lte=high).order_by("code")
    )
    keys = f"substr(village_code, 1, {length}), event"
    counts: dict[str, dict[int, int]] = {}
    for (prefix, event), n in _sums(kind="people", keys=keys, low=low, high=high, day=day).items():
        counts.setdefault(prefix, {})[int(event)] = n
    populations = _populations([c.code for c in children] + [division.code], year=day.year)
    rows = []
    totals: dict[int, int] = {}
    for child in children:
        mine = counts.get(child.code[:length], {})
        for event, n in mine.items():
            totals[event] = totals.get(event, 0) + n
        rows.append(
            {"division": child.code, "name": child.name}
            | _people_row(mine, populations.get(child.code, (None, None))[0])
        )
    total = {"division": division.code, "name": division.name} | _people_row(
        totals, populations.get(division.code, (None, None))[0]
    )
    return {
        "date": day.isoformat(),
        "division": division.code,
        "name": division.name,
        "rows": rows,
        "total": total,
    }


def coverage_by_band(*, scope: Scope, day: dt.date, division_code: str | None = None) -> dict:
    """People with a first dose, a completed course and a booster by age band (age on the day of the step) as
    of ``day``; ``rows`` per band, and ``summary`` for the bands the population table has (under 18, 18–59,
    60+) with their coverage."""
    division = _scope_division(scope, division_code)
    low, high = division.code_range
    counts: dict[int, dict[int, int]] = {}
    for (band, event), n in _sums(kind="people", keys="band, event", low=low, high=high, day=day).items():
        counts.setdefault(int(band), {})[int(event)] = n
    rows = [
        {"band": band, "label": domain.BAND_LABELS[band]} | _people_row(counts.get(band, {}), None)
        for band in domain.BANDS
    ]
    pop = (
        Population.objects.filter(
            division__code=division.code, year__lte=day.year, kind=domain.PopulationKind.REGISTERED.value
        )
        .order_by("-year")
        .values_list("total", "age_18_plus", "age_60_plus")
        .first()
    )

    def merged(bands) -> dict[int, int]:
        out: dict[int, int] = {}
        for band in bands:
            for event, n in counts.get(band, {}).items():
                out[event] = out.get(event, 0) + n
        return out

    summary = [
        {"label": "18岁以下"} | _people_row(merged((0, 3, 12)), pop[0] - pop[1] if pop else None),
        {"label": "18-59岁"} | _people_row(merged((18,)), pop[1] - pop[2] if pop else None),
        {"label": "60岁及以上"} | _people_row(merged((60, 70, 80)), pop[2] if pop else None),
    ]
    return {
        "date": day.isoformat(),
        "division": division.code,
        "name": division.name,
        "rows": rows,
        "summary": summary,
    }


def coverage_by_group(*, scope: Scope, day: dt.date, division_code: str | None = None) -> dict:
    """People with a first dose, a completed course and a booster by priority group (重点人群) as of ``day``
    (``group`` None: people in no group), with the group's count in the division (``GroupPopulation``) as the
    population and the coverage against it where one is loaded."""
    from vaxops.registry.models import PriorityGroup

    division = _scope_division(scope, division_code)
    low, high = division.code_range
    counts: dict[int, dict[int, int]] = {}
    for (group, event), n in _sums(
        kind="people", keys="group_id, event", low=low, high=high, day=day
    ).items():
        counts.setdefault(int(group), {})[int(event)] = n
    denominators = group_populations(division_code=division.code, year=day.year)
    rows = []
    for group in PriorityGroup.objects.order_by("pk"):
        rows.append(
            {"group": group.code, "name": str(group)}
            | _people_row(counts.get(group.pk, {}), denominators.get(group.pk))
        )
    rows.append({"group": None, "name": "其他人群"} | _people_row(counts.get(0, {}), None))
    return {"date": day.isoformat(), "division": division.code, "name": division.name, "rows": rows}


def group_populations(*, division_code: str, year: int) -> dict[int, int]:
    """Priority group id → its count in the division for ``year`` or the latest year before it."""
    from .models import GroupPopulation

    found: dict[int, int] = {}
    for group_id, total in (
        GroupPopulation.objects.filter(division__code=division_code, year__lte=year)
        .order_by("group_id", "-year")
        .values_list("group_id", "total")
    ):
        found.setdefault(group_id, total)
    return found


def funnel(*, scope: Scope, day: dt.date, division_code: str | None = None) -> dict:
    """First dose → completed primary course → booster as of ``day``, each with its share of the population
    and of the step before."""
    division = _scope_division(scope, division_code)
    low, high = division.code_range
    counts = {
        int(e): n for (e,), n in _sums(kind="people", keys="event", low=low, high=high, day=day).items()
    }
    population = _populations([division.code], year=day.year).get(division.code, (None, None))[0]
    row = _people_row(counts, population)
    steps = []
    before = None
    for event, name in _STEPS.items():
        n = counts.get(event, 0)
        steps.append(
            {
                "step": name,
                "label": {1: "首剂", 2: "全程接种", 3: "加强免疫"}[event],
                "people": n,
                "share_of_population": _share(n, population),
                "share_of_previous": _share(n, before) if before is not None else None,
            }
        )
        before = n
    return {
        "date": day.isoformat(),
        "division": division.code,
        "name": division.name,
        "population": population,
        "steps": steps,
    } | {k: row[k] for k in ("coverage_first_dose", "coverage_completed", "coverage_booster")}


def severe_adverse_events(*, low: str, high: str, day: dt.date) -> int:
    """Severe adverse events following immunization reported up to ``day`` in the range (safety's reports)."""
    from vaxops.safety.selectors import serious_count

    return serious_count(low=low, high=high, day=day)


def running_totals(*, scope: Scope, day: dt.date, division_code: str | None = None) -> dict:
    """The running totals in the words of a progress notice (设置接种点…个，累计接种…人，共计…剂次…): sites by
    kind, vaccinators with a valid training certificate, people with a first dose / completed / booster,
    doses in all and today, severe adverse events."""
    from django.db.models import Count, Q

    from vaxops.sites.domain import CertificateKind, SiteKind
    from vaxops.sites.models import Site, StaffMember

    division = _scope_division(scope, division_code)
    low, high = division.code_range
    people = {
        int(e): n for (e,), n in _sums(kind="people", keys="event", low=low, high=high, day=day).items()
    }
    doses = _sums(kind="dose", keys="kind", low=low, high=high, day=day)
    today = _sums(kind="dose", keys="kind", low=low, high=high, day=day, op="=")
    sites = dict(
        Site.objects.filter(division__code__gte=low, division__code__lte=high)
        .values_list("kind")
        .annotate(n=Count("pk"))
    )
    staff = StaffMember.objects.filter(
        active=True, site__division__code__gte=low, site__division__code__lte=high
    )
    valid = Q(certificates__kind=CertificateKind.TRAINING, certificates__valid_from__lte=day) & (
        Q(certificates__valid_to__isnull=True) | Q(certificates__valid_to__gte=day)
    )
    certified = staff.filter(valid).distinct().count()
    return {
        "date": day.isoformat(),
        "division": division.code,
        "name": division.name,
        "sites": sum(sites.values()),
        "sites_by_kind": {k.value: sites.get(k.value, 0) for k in SiteKind},
        "staff_active": staff.count(),
        "staff_certified": certified,
        "people_first_dose": people.get(1, 0),
        "people_completed": people.get(2, 0),
        "people_booster": people.get(3, 0),
        "doses": sum(doses.values()),
        "doses_today": sum(today.values()),
        "booster_doses": doses.get((4,), 0),
        "severe_adverse_events": severe_adverse_events(low=low, high=high, day=day),
    }

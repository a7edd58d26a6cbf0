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
from vaxops.catalog.domain import add_years
from vaxops.core.errors import NotFound, PermissionDenied
from vaxops.jurisdictions.models import Division, Level

from . import domain
from .errors import ReportsErrorCode
from .models import Population

COUNTS = (
    "doses_today",
    "doses_cumulative",
    "people_first_dose_today",
    "people_first_dose_cumulative",
    "people_60_plus_first_dose_cumulative",
    "booster_doses_cumulative",
)


@dataclass
class DailyRow:
    division: str
    name: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    population: int | None = None
    population_60_plus: int | None = None

    def as_dict(self) -> dict:
        first = self.counts["people_first_dose_cumulative"]
        share = domain.coverage(first, self.population)
        share_60 = domain.coverage(
            self.counts["people_60_plus_first_dose_cumulative"], self.population_60_plus
        )
        return {
            "division": self.division,
            "name": self.name,
            **self.counts,
            "population": self.population,
            "coverage_first_dose": domain.percent_text(share) if share is not None else None,
            "population_60_plus": self.population_60_plus,
            "coverage_60_plus_first_dose": domain.percent_text(share_60) if share_60 is not None else None,
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


_FIRSTS_SQL = """
WITH firsts AS (
    SELECT d.resident_id, MIN(d.given_on) AS first_on
    FROM clinic_dose d
    WHERE d.voided_at IS NULL AND d.given_on <= %(day)s
    GROUP BY d.resident_id
)
SELECT substr(r.village_code, 1, 9) AS township,
       SUM(CASE WHEN f.first_on = %(day)s THEN 1 ELSE 0 END),
       COUNT(*),
       SUM(CASE WHEN r.birth_date <= %(born_60)s THEN 1 ELSE 0 END)
FROM firsts f JOIN registry_resident r ON r.id = f.resident_id
WHERE r.village_code >= %(low)s AND r.village_code <= %(high)s
GROUP BY substr(r.village_code, 1, 9)
"""

_DOSES_SQL = """
SELECT substr(r.village_code, 1, 9) AS township,
       SUM(CASE WHEN d.given_on = %(day)s THEN 1 ELSE 0 END),
       COUNT(*),
       SUM(CASE WHEN d.is_booster THEN 1 ELSE 0 END)
FROM clinic_dose d JOIN registry_resident r ON r.id = d.resident_id
WHERE d.voided_at IS NULL AND d.given_on <= %(day)s
  AND r.village_code >= %(low)s AND r.village_code <= %(high)s
GROUP BY substr(r.village_code, 1, 9)
"""


def daily_report(*, scope: Scope, day: dt.date, division_code: str | None = None) -> dict:
    """The 日报表 of ``day`` for the townships of a county (or one township), counted from the records.

    Doses are standing (not voided) doses given on or before ``day``, desk and external alike; people are
    counted by the village they live in; a person's first dose is their first standing dose ever."""
    division = report_division(scope=scope, code=division_code)
    low, high = division.code_range
    townships = list(
        Division.objects.filter(level=Level.TOWNSHIP, code__gte=low, code__lte=high).order_by("code")
    )
    if division.level == Level.TOWNSHIP:
        townships = [division]
    rows = {t.code[:9]: DailyRow(t.code, t.name) for t in townships}
    params = {"day": day, "low": low, "high": high, "born_60": add_years(day, -60)}
    with connection.cursor() as cursor:
        cursor.execute(_DOSES_SQL, params)
        for township, today, cumulative, boosters in cursor.fetchall():
            row = rows.get(township)
            if row is not None:
                row.counts["doses_today"] = int(today or 0)
                row.counts["doses_cumulative"] = int(cumulative or 0)
                row.counts["booster_doses_cumulative"] = int(boosters or 0)
        cursor.execute(_FIRSTS_SQL, params)
        for township, today, cumulative, old in cursor.fetchall():
            row = rows.get(township)
            if row is not None:
                row.counts["people_first_dose_today"] = int(today or 0)
                row.counts["people_first_dose_cumulative"] = int(cumulative or 0)
                row.counts["people_60_plus_first_dose_cumulative"] = int(old or 0)
    populations = _populations([d.code for d in [*townships, division]], year=day.year)
    for row in rows.values():
        row.population, row.population_60_plus = populations.get(row.division, (None, None))
    total = DailyRow(division.code, division.name)
    for row in rows.values():
        for key in COUNTS:
            total.counts[key] += row.counts[key]
    total.population, total.population_60_plus = populations.get(division.code, (None, None))
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

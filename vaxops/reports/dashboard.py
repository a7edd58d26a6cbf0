"""The leaders' dashboard (接种进度一张图): every figure of ``/reports/dashboard/`` and ``/api/v1/reports/dashboard``
for one division (the county, or a township with its villages), scoped like every read.

``dashboard_data`` assembles the charts' numbers; the page draws them with ECharts and prints each as a table
beside its chart, the API returns the same dict, and each chart's rows download as XLSX (``CHARTS``).
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from django.db import connection
from django.db.models import Sum

from vaxops.accounts.scope import Scope
from vaxops.catalog.models import PhaseTarget
from vaxops.jurisdictions.models import Division
from vaxops.sites.models import SiteKind
from vaxops.supply import domain as supply_domain
from vaxops.supply import selectors as supply_selectors
from vaxops.supply.models import StockBalance, StockMovement, StockPlace

from . import domain, selectors
from .models import DailyReportLate, Population
from .selectors import report_division

DOSE_KINDS = (("dose1", "第1剂"), ("dose2", "第2剂"), ("dose3", "第3剂"), ("booster", "加强针"))
WEEKLY_AFTER_DAYS = 120  # a longer range is drawn week by week
CAMPAIGN_START = dt.date(2020, 7, 1)  # no dose is counted before the first emergency use
STOCK_USE_DAYS = 7
SINGLE_DOSE_PRODUCTS = ("Convidecia",)  # a primary course of one dose (腺病毒载体)


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _pct(share: Fraction | None) -> float | None:
    return None if share is None else round(float(share) * 100, 1)


# ----------------------------------------------------------------------------------------- counts


_PEOPLE_SQL = """
SELECT {key}, COUNT(*), SUM(CASE WHEN v.resident_id IS NOT NULL THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.primary_n >= 2 OR v.single_n >= 1 THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.booster_n >= 1 THEN 1 ELSE 0 END)
FROM registry_resident r LEFT JOIN (
    SELECT d.resident_id,
           SUM(CASE WHEN d.is_booster THEN 0 ELSE 1 END) AS primary_n,
           SUM(CASE WHEN d.is_booster THEN 0 WHEN d.product_code IN ({single}) THEN 1 ELSE 0 END) AS single_n,
           SUM(CASE WHEN d.is_booster THEN 1 ELSE 0 END) AS booster_n
    FROM clinic_dose d WHERE d.voided_at IS NULL AND d.given_on <= %(day)s GROUP BY d.resident_id
) v ON v.resident_id = r.id
WHERE r.village_code >= %(low)s AND r.village_code <= %(high)s {where}
GROUP BY {key}
"""


def people_counts(*, low: str, high: str, day: dt.date, key: str, where: str = "", params=None) -> dict:
    """Per value of ``key`` (an SQL expression over ``r``, the resident): registered people, people with a
    first dose, people who completed the primary course, people with a booster — all as of ``day``."""
    single = ", ".join(f"'{code}'" for code in SINGLE_DOSE_PRODUCTS)  # constants of this module, not input
    sql = _PEOPLE_SQL.format(key=key, where=where, single=single)
    args = {"low": low, "high": high, "day": day, **(params or {})}
    out = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        for k, registered, first, complete, booster in cursor.fetchall():
            out[k] = {
                "registered": int(registered or 0),
                "first": int(first or 0),
                "complete": int(complete or 0),
                "booster": int(booster or 0),
            }
    return out


# ---------------------------------------------------------------------------------------- sections


def _populations(codes: list[str], year: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for code, total in (
        Population.objects.filter(
            division__code__in=codes, year__lte=year, kind=domain.PopulationKind.REGISTERED.value
        )
        .order_by("division__code", "-year")
        .values_list("division__code", "total")
    ):
        found.setdefault(code, total)
    return found


def _coverage(people: int, population: int | None) -> float | None:
    return _pct(domain.coverage(people, population))


def _people(row: dict) -> dict:
    """The three people counts of a row of the facts: first dose, completed primary course, booster."""
    return {k: row[k] for k in ("people_first_dose", "people_completed", "people_booster")}


def coverage_by_division(*, scope: Scope, division: Division, day: dt.date) -> list[dict]:
    """The county's townships (or a township's villages): people vaccinated and coverage (first dose ÷ 户籍
    population), from the progress facts (``selectors.coverage_by_division``)."""
    found = selectors.coverage_by_division(scope=scope, day=day, division_code=division.code)
    return [
        {
            "division": r["division"],
            "name": r["name"],
            "population": r["population"],
            **_people(r),
            "coverage": _coverage(r["people_first_dose"], r["population"]),
        }
        for r in found["rows"]
    ]


def coverage_by_band(*, scope: Scope, division: Division, day: dt.date) -> list[dict]:
    """Coverage by the population table's age bands (under 18, 18–59, 60+), from the facts."""
    found = selectors.coverage_by_band(scope=scope, day=day, division_code=division.code)
    return [
        {
            "band": r["label"],
            "population": r["population"],
            **_people(r),
            "coverage": _coverage(r["people_first_dose"], r["population"]),
        }
        for r in found["summary"]
    ]


def coverage_by_group(*, scope: Scope, division: Division, day: dt.date) -> list[dict]:
    """People vaccinated per priority group (重点人群), from the facts, with the coverage (first dose ÷ the group's
    count in the division, ``GroupPopulation``) where the county has loaded one; groups with nobody vaccinated
    and no count are left out."""
    found = selectors.coverage_by_group(scope=scope, day=day, division_code=division.code)
    return [
        {
            "group": r["name"],
            "population": r["population"],
            **_people(r),
            "coverage": _coverage(r["people_first_dose"], r["population"]),
        }
        for r in found["rows"]
        if r["people_first_dose"] or r["people_completed"] or r["people_booster"] or r["population"]
    ]


def funnel(*, scope: Scope, division: Division, day: dt.date) -> list[dict]:
    found = selectors.funnel(scope=scope, day=day, division_code=division.code)
    return [{"stage": s["label"], "people": s["people"]} for s in found["steps"]]


def quota_line(*, division: Division, days: list[dt.date]) -> list[int]:
    """The plan's people per day on each day: the targets of this division (catalog.PhaseTarget)."""
    targets = list(PhaseTarget.objects.filter(division=division).select_related("phase"))
    return [
        sum(
            domain.quota_for_day(
                day=d,
                starts_on=t.phase.starts_on,
                deadline=t.deadline or t.phase.ends_on,
                target=t.target_people,
                quota=t.daily_quota,
            )
            for t in targets
        )
        for d in days
    ]


def dose_counts(
    *, scope: Scope, division: Division, start: dt.date, end: dt.date
) -> dict[dt.date, dict[str, int]]:
    """Standing doses per day and kind, from the facts (``selectors.dose_series``); days without doses left out."""
    found = selectors.dose_series(scope=scope, start=start, end=end, division_code=division.code)
    return {
        dt.date.fromisoformat(d["date"]): {k: d[k] for k, _ in DOSE_KINDS}
        for d in found["days"]
        if d["total"]
    }


def dose_series(*, scope: Scope, division: Division, start: dt.date, end: dt.date) -> dict:
    """Doses per day (or per week for a long range) by kind, with the plan's quota line over the same points."""
    weekly = (end - start).days + 1 > WEEKLY_AFTER_DAYS
    counts = dose_counts(scope=scope, division=division, start=start, end=end)
    points: list[dt.date] = []
    d = domain.bucket_start(start, weekly=weekly)
    while d <= end:
        points.append(d)
        d += dt.timedelta(days=7 if weekly else 1)
    index = {p: i for i, p in enumerate(points)}
    series = {k: [0] * len(points) for k, _ in DOSE_KINDS}
    for day, kinds in counts.items():
        i = index.get(domain.bucket_start(day, weekly=weekly))
        if i is not None:
            for k, n in kinds.items():
                series[k][i] += n
    span = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    quota = [0] * len(points)
    for day, q in zip(span, quota_line(division=division, days=span), strict=True):
        j = index.get(domain.bucket_start(day, weekly=weekly))
        if j is not None:
            quota[j] += q
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "step": "week" if weekly else "day",
        "points": [p.isoformat() for p in points],
        "kinds": [{"key": k, "label": label} for k, label in DOSE_KINDS],
        **series,
        "quota": quota,
    }


def _places(division: Division):
    low, high = division.code_range
    return StockPlace.objects.filter(division__code__gte=low, division__code__lte=high)


def stock_days(*, division: Division, today: dt.date) -> list[dict]:
    """Each stock place of the division: doses on hand, the last week's use per day, days it lasts."""
    places = list(_places(division).order_by("code"))
    ids = [p.pk for p in places]
    stock = dict(
        StockBalance.objects.filter(place_id__in=ids)
        .values("place_id")
        .annotate(d=Sum("doses"))
        .values_list("place_id", "d")
    )
    since = dt.datetime.combine(today - dt.timedelta(days=STOCK_USE_DAYS), dt.time(), tzinfo=dt.UTC)
    used = dict(
        StockMovement.objects.filter(
            place_id__in=ids, kind=supply_domain.MovementKind.ADMINISTRATION.value, at__gte=since
        )
        .values("place_id")
        .annotate(d=Sum("doses"))
        .values_list("place_id", "d")
    )
    rows = []
    for p in places:
        on_hand = int(stock.get(p.pk) or 0)
        from decimal import Decimal

        rate = Decimal(-(used.get(p.pk) or 0)) / STOCK_USE_DAYS
        cover = supply_domain.days_of_cover(stock_doses=on_hand, recent_daily_use=rate)
        rows.append(
            {
                "place": p.code,
                "name": p.name,
                "stock": on_hand,
                "daily_use": round(float(rate), 1),
                "days": None if cover is None else round(float(cover), 1),
                "low": cover is not None and cover < p.low_stock_days,
            }
        )
    return rows


def late_reports(*, division: Division, day: dt.date) -> list[dict]:
    low, high = division.code_range
    return [
        {"division": code, "name": name}
        for code, name in DailyReportLate.objects.filter(
            day=day, township__code__gte=low, township__code__lte=high
        )
        .order_by("township__code")
        .values_list("township__code", "township__name")
    ]


def open_alerts(*, division: Division) -> dict:
    """The supply alerts of the division's stock places (expiring lots, low stock, receipts overdue). Alerts of
    other kinds (adverse events, cold-chain excursions) join here as they are built."""
    found = supply_selectors.alerts_in_places(place_ids=set(_places(division).values_list("pk", flat=True)))
    return {
        "supply_expiring": len(found["expiring"]),
        "supply_low_stock": len(found["low_stock"]),
        "supply_receipts_overdue": len(found["receipts_overdue"]),
        "total": found["total"],
    }


def running_totals(*, scope: Scope, division: Division, day: dt.date) -> dict:
    """The seed's running totals: 设置接种点N个…累计接种X人,共计Y剂次…无严重不良反应 (``selectors.running_totals``)."""
    t = selectors.running_totals(scope=scope, day=day, division_code=division.code)
    return {
        "sites": t["sites"],
        "sites_by_kind": [
            {"kind": k, "label": str(label), "n": t["sites_by_kind"].get(k, 0)}
            for k, label in SiteKind.choices
        ],
        "staff": t["staff_active"],
        "staff_certified": t["staff_certified"],
        "people_first_dose": t["people_first_dose"],
        "people_completed": t["people_completed"],
        "people_booster": t["people_booster"],
        "doses": t["doses"],
        "doses_today": t["doses_today"],
        "severe_adverse_events": t["severe_adverse_events"],
    }


def dashboard_data(
    *, scope: Scope, day: dt.date, division_code: str | None = None, start: dt.date | None = None
) -> dict:
    """Every figure of the dashboard for the scope's county (or a township of it) as of ``day``."""
    division = report_division(scope=scope, code=division_code)
    if start is None:  # the whole campaign: from the first dose given in the division
        given = dose_counts(scope=scope, division=division, start=CAMPAIGN_START, end=day)
        start = min(given, default=day)
    start = min(max(start, CAMPAIGN_START), day)
    return {
        "date": day.isoformat(),
        "division": division.code,
        "name": division.name,
        "level": division.level,
        "series": dose_series(scope=scope, division=division, start=start, end=day),
        "by_division": coverage_by_division(scope=scope, division=division, day=day),
        "by_band": coverage_by_band(scope=scope, division=division, day=day),
        "by_group": coverage_by_group(scope=scope, division=division, day=day),
        "funnel": funnel(scope=scope, division=division, day=day),
        "stock": stock_days(division=division, today=day),
        "late": late_reports(division=division, day=day),
        "alerts": open_alerts(division=division),
        "totals": running_totals(scope=scope, division=division, day=day),
    }


# ------------------------------------------------------------------------- tables beside the charts

CHARTS: dict[str, str] = {
    "series": "每日接种剂次",
    "by_division": "各地接种覆盖率",
    "by_band": "分年龄段接种覆盖率",
    "by_group": "分人群接种覆盖率",
    "funnel": "第1剂—全程—加强",
    "stock": "库存可用天数",
    "late": "今日逾期未报",
    "totals": "累计情况",
}


def chart_table(data: dict, name: str) -> tuple[list[str], list[list]]:
    """The headers and rows of one chart's numbers, as the page prints them beside the chart and as its XLSX."""
    if name == "series":
        s = data["series"]
        headers = [
            "日期" if s["step"] == "day" else "周（起始日）",
            *(k["label"] for k in s["kinds"]),
            "合计",
            "计划任务量（人）",
        ]
        rows = [
            [p, *(s[k["key"]][i] for k in s["kinds"]), sum(s[k["key"]][i] for k in s["kinds"]), s["quota"][i]]
            for i, p in enumerate(s["points"])
        ]
        return headers, rows
    if name == "by_division":
        return (
            ["区划代码", "名称", "户籍人口", "第1剂人数", "全程人数", "加强人数", "覆盖率（%）"],
            [
                [
                    r["division"],
                    r["name"],
                    r["population"],
                    r["people_first_dose"],
                    r["people_completed"],
                    r["people_booster"],
                    r["coverage"],
                ]
                for r in data["by_division"]
            ],
        )
    if name == "by_band":
        return (
            ["年龄段", "户籍人口", "第1剂人数", "全程人数", "加强人数", "覆盖率（%）"],
            [
                [
                    r["band"],
                    r["population"],
                    r["people_first_dose"],
                    r["people_completed"],
                    r["people_booster"],
                    r["coverage"],
                ]
                for r in data["by_band"]
            ],
        )
    if name == "by_group":
        return (
            ["人群", "人群人数", "第1剂人数", "全程人数", "加强人数", "覆盖率（%）"],
            [
                [
                    r["group"],
                    r["population"],
                    r["people_first_dose"],
                    r["people_completed"],
                    r["people_booster"],
                    r["coverage"],
                ]
                for r in data["by_group"]
            ],
        )
    if name == "funnel":
        return ["阶段", "人数"], [[r["stage"], r["people"]] for r in data["funnel"]]
    if name == "stock":
        return (
            ["地点编码", "库存地点", "库存（剂）", "近7日日均用量（剂）", "可用天数"],
            [[r["place"], r["name"], r["stock"], r["daily_use"], r["days"]] for r in data["stock"]],
        )
    if name == "late":
        return ["区划代码", "乡镇（街道）"], [[r["division"], r["name"]] for r in data["late"]]
    if name == "totals":
        t = data["totals"]
        rows = [["接种点（个）", t["sites"]]]
        rows += [[f"其中{k['label']}", k["n"]] for k in t["sites_by_kind"]]
        rows += [
            ["接种人员（人）", t["staff"]],
            ["持证上岗（人）", t["staff_certified"]],
            ["累计接种（人）", t["people_first_dose"]],
            ["全程接种（人）", t["people_completed"]],
            ["累计接种（剂次）", t["doses"]],
            ["严重不良反应（例）", t["severe_adverse_events"]],
        ]
        return ["项目", "数量"], rows
    raise KeyError(name)

"""The weekly bulletin's figures (周通报): "建立‘日督导、周通报’工作机制…定期通报各部门单位、乡镇(街道)疫苗接种实时进度".

``bulletin_figures`` counts one Monday-to-Sunday week of a county from the progress facts (as the daily report
does; with ``recount``, from the dose records by GROUP BY: the same figures, slower): the week's totals and their
change from the week before; every township ranked by coverage and by the week's progress against its quota,
with its band (红/黄/绿, ``domain.band``); every sector department (行业主管部门) and employer the same way. The
result is plain JSON, stored as the bulletin's snapshot; the PDF and XLSX are made from the snapshot only, so a
published bulletin never changes.

A township's week quota is the sum of its targets' daily quotas over the week (``catalog.PhaseTarget``; a
target without a quota spreads its people over the phase's days up to the deadline). Sectors and employers have
no targets of their own: their quota is the county's week quota shared in proportion to the people each still
had to vaccinate when the week began.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from django.db import connection
from django.utils.translation import gettext as _

from vaxops.core.errors import NotFound
from vaxops.jurisdictions.models import Division, Level
from vaxops.registry.models import Employer, Sector

from . import domain, selectors
from .dashboard import _pct, _populations, people_counts, quota_line
from .errors import ReportsErrorCode
from .models import WeeklyBulletin
from .selectors import actor_scope

_WEEK_DOSES_SQL = """
SELECT substr(r.village_code, 1, 9), SUM(CASE WHEN d.given_on >= %(start)s THEN 1 ELSE 0 END), COUNT(*)
FROM clinic_dose d JOIN registry_resident r ON r.id = d.resident_id
WHERE d.voided_at IS NULL AND d.given_on >= %(previous)s AND d.given_on <= %(end)s
  AND r.village_code >= %(low)s AND r.village_code <= %(high)s
GROUP BY substr(r.village_code, 1, 9)
"""
_WEEK_DOSES_FACTS_SQL = """
SELECT substr(village_code, 1, 9), SUM(CASE WHEN day >= %(start)s THEN n ELSE 0 END), SUM(n)
FROM reports_dosefact
WHERE day >= %(previous)s AND day <= %(end)s AND village_code >= %(low)s AND village_code <= %(high)s
GROUP BY substr(village_code, 1, 9)
"""


def _week_doses(
    *, low: str, high: str, start: dt.date, end: dt.date, recount: bool = False
) -> dict[str, tuple[int, int]]:
    """Per township prefix: (standing doses given in the week, in the week before)."""
    out = {}
    with connection.cursor() as cursor:
        cursor.execute(
            _WEEK_DOSES_SQL if recount else _WEEK_DOSES_FACTS_SQL,
            {"low": low, "high": high, "start": start, "end": end, "previous": start - dt.timedelta(days=7)},
        )
        for prefix, this_week, both in cursor.fetchall():
            out[prefix] = (int(this_week or 0), int(both or 0) - int(this_week or 0))
    return out


def _people(*, low: str, high: str, day: dt.date, by: str, recount: bool) -> dict:
    """Per township prefix (``by`` "township") or employer id (``by`` "employer"): registered people and people
    with a first standing dose on or before ``day`` (``{"registered", "first"}``). The first from the people
    facts (or, with ``recount``, from the dose records); the registered from the residents."""
    if recount:
        if by == "township":
            return people_counts(low=low, high=high, day=day, key="substr(r.village_code, 1, 9)")
        return people_counts(
            low=low, high=high, day=day, key="r.employer_id", where="AND r.employer_id IS NOT NULL"
        )
    key, facts_key, where = (
        ("substr(village_code, 1, 9)", "substr(village_code, 1, 9)", "")
        if by == "township"
        else ("employer_id", "employer_id", "AND employer_id IS NOT NULL")
    )
    out: dict = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {key}, COUNT(*) FROM registry_resident "  # noqa: S608 - constants of this function
            f"WHERE village_code >= %s AND village_code <= %s {where} GROUP BY {key}",
            [low, high],
        )
        for k, n in cursor.fetchall():
            out[k] = {"registered": int(n), "first": 0}
    facts_where = "event = 1" + (" AND employer_id <> 0" if by == "employer" else "")
    for (k,), n in selectors._sums(
        kind="people", keys=facts_key, low=low, high=high, day=day, where=facts_where
    ).items():
        out.setdefault(k, {"registered": 0, "first": 0})["first"] = n
    return out


def _week_quota(division: Division, start: dt.date) -> int:
    return sum(quota_line(division=division, days=[start + dt.timedelta(days=i) for i in range(7)]))


def _share(n: int, d: int | None) -> Fraction | None:
    return Fraction(n, d) if d else None


def _ranked(units: list[dict]) -> list[dict]:
    """Adds each unit's rank by coverage and by progress, and its band; sorted by coverage rank."""
    by_cov = {r.key: r.rank for r in domain.rank({u["code"]: u["_coverage"] for u in units})}
    by_prog = {r.key: r.rank for r in domain.rank({u["code"]: u["_progress"] for u in units})}
    for u in units:
        b = domain.band(u.pop("_coverage"), u.pop("_progress"))
        u.update(
            rank_coverage=by_cov[u["code"]] or None,
            rank_progress=by_prog[u["code"]] or None,
            band=b.value,
            band_label=b.label,
        )
    return sorted(units, key=lambda u: (u["rank_coverage"] is None, u["rank_coverage"] or 0, u["code"]))


def _unit(
    code: str, name: str, *, done: int, before: int, denominator: int | None, quota: int | None
) -> dict:
    week_people = done - before
    coverage = _share(done, denominator)
    progress = _share(week_people, quota) if quota else None
    return {
        "code": code,
        "name": name,
        "denominator": denominator,
        "people_first_dose": done,
        "week_people": week_people,
        "week_quota": quota,
        "coverage": _pct(coverage),
        "coverage_text": domain.percent_text(coverage),
        "progress": _pct(progress),
        "progress_text": domain.percent_text(progress),
        "_coverage": coverage,
        "_progress": progress,
    }


def bulletin_figures(*, county: Division, week_start: dt.date, recount: bool = False) -> dict:
    """The snapshot of a county's bulletin for the week starting on ``week_start`` (a Monday), from the facts
    (with ``recount``: from the dose records)."""
    start, end = domain.week_of(week_start)
    before = start - dt.timedelta(days=1)
    previous_end = before - dt.timedelta(days=7)
    low, high = county.code_range
    townships = list(
        Division.objects.filter(level=Level.TOWNSHIP, code__gte=low, code__lte=high).order_by("code")
    )

    at_end = _people(low=low, high=high, day=end, by="township", recount=recount)
    at_start = _people(low=low, high=high, day=before, by="township", recount=recount)
    at_previous = _people(low=low, high=high, day=previous_end, by="township", recount=recount)
    doses = _week_doses(low=low, high=high, start=start, end=end, recount=recount)
    pops = _populations([t.code for t in townships] + [county.code], end.year)

    rows = []
    for t in townships:
        p = t.code[:9]
        rows.append(
            _unit(
                t.code,
                t.name,
                done=at_end.get(p, {}).get("first", 0),
                before=at_start.get(p, {}).get("first", 0),
                denominator=pops.get(t.code) or at_end.get(p, {}).get("registered") or None,
                quota=_week_quota(t, start),
            )
        )
        rows[-1]["week_doses"] = doses.get(p, (0, 0))[0]

    def total(counts: dict, key: str) -> int:
        return sum(c[key] for c in counts.values())

    first_end, first_start, first_prev = (total(c, "first") for c in (at_end, at_start, at_previous))
    registered = total(at_end, "registered")
    county_quota = _week_quota(county, start) or sum(r["week_quota"] or 0 for r in rows)
    week_doses = sum(d[0] for d in doses.values())
    previous_doses = sum(d[1] for d in doses.values())
    people_week, people_previous = first_end - first_start, first_start - first_prev
    doses_change, doses_change_share = domain.change(week_doses, previous_doses)
    people_change, people_change_share = domain.change(people_week, people_previous)
    denominator = pops.get(county.code) or registered or None
    county_remaining = max((denominator or 0) - first_start, 0)

    # Sectors and employers: people counted by their employer, their quota a share of the county's.
    emp_end = _people(low=low, high=high, day=end, by="employer", recount=recount)
    emp_start = _people(low=low, high=high, day=before, by="employer", recount=recount)
    employers = {e.pk: e for e in Employer.objects.filter(pk__in=list(emp_end)).select_related("sector")}

    def unit_quota(staff: int, done_before: int) -> int | None:
        if not county_quota or not county_remaining:
            return None
        remaining = max(staff - done_before, 0)
        return -(-county_quota * remaining // county_remaining) if remaining else None

    employer_rows = []
    sector_sums: dict[int, dict[str, int]] = {}
    for pk, c in emp_end.items():
        e = employers.get(pk)
        if e is None:
            continue
        done_before = emp_start.get(pk, {}).get("first", 0)
        employer_rows.append(
            _unit(
                e.code,
                e.name,
                done=c["first"],
                before=done_before,
                denominator=c["registered"] or None,
                quota=unit_quota(c["registered"], done_before),
            )
        )
        employer_rows[-1]["sector"] = e.sector.name if e.sector_id else ""
        if e.sector_id:
            s = sector_sums.setdefault(e.sector_id, {"staff": 0, "done": 0, "before": 0})
            s["staff"] += c["registered"]
            s["done"] += c["first"]
            s["before"] += done_before
    sectors = {s.pk: s for s in Sector.objects.filter(pk__in=list(sector_sums))}
    sector_rows = [
        _unit(
            sectors[pk].code,
            sectors[pk].name,
            done=s["done"],
            before=s["before"],
            denominator=s["staff"] or None,
            quota=unit_quota(s["staff"], s["before"]),
        )
        for pk, s in sector_sums.items()
        if pk in sectors
    ]

    coverage = _share(first_end, denominator)
    return {
        "county": county.code,
        "county_name": county.name,
        "week_start": start.isoformat(),
        "week_end": end.isoformat(),
        "week_label": domain.week_label(start),
        "thresholds": {
            "coverage_green": _pct(domain.COVERAGE_GREEN),
            "coverage_red": _pct(domain.COVERAGE_RED),
            "progress_green": _pct(domain.PROGRESS_GREEN),
            "progress_red": _pct(domain.PROGRESS_RED),
        },
        "totals": {
            "week_doses": week_doses,
            "previous_week_doses": previous_doses,
            "doses_change": doses_change,
            "doses_change_text": domain.percent_text(doses_change_share),
            "week_people": people_week,
            "previous_week_people": people_previous,
            "people_change": people_change,
            "people_change_text": domain.percent_text(people_change_share),
            "people_first_dose": first_end,
            "population": denominator,
            "coverage": _pct(coverage),
            "coverage_text": domain.percent_text(coverage),
            "week_quota": county_quota,
            "progress_text": domain.percent_text(_share(people_week, county_quota)),
        },
        "townships": _ranked(rows),
        "sectors": _ranked(sector_rows),
        "employers": _ranked(employer_rows),
    }


# ------------------------------------------------------------------------------------------- reads


def _readable(actor, county_code: str) -> bool:
    """A county's bulletins are read by its own users and its townships' (each township is ranked there)."""
    scope = actor_scope(actor)
    return scope.unrestricted or (scope.code_low is not None and scope.code_low[:6] == county_code[:6])


def weekly_bulletins(*, actor):
    """The bulletins the actor may read, newest week first (drafts only for those who may publish)."""
    scope = actor_scope(actor)
    qs = WeeklyBulletin.objects.select_related("division", "published_by").order_by("-week_start")
    if not actor.has_perm("reports.add_weeklybulletin"):
        qs = qs.filter(status=WeeklyBulletin.Status.PUBLISHED)
    if scope.unrestricted:
        return qs
    if scope.code_low is None:
        return qs.none()
    return qs.filter(division__code__startswith=scope.code_low[:6])


def weekly_bulletin_get(*, actor, bulletin_id: int) -> WeeklyBulletin:
    """A bulletin the actor may read (see ``weekly_bulletins``), else NotFound."""
    bulletin = (
        WeeklyBulletin.objects.select_related("division", "published_by", "created_by")
        .filter(pk=bulletin_id)
        .first()
    )
    if (
        bulletin is None
        or not _readable(actor, bulletin.division.code)
        or (
            bulletin.status == WeeklyBulletin.Status.DRAFT
            and not actor.has_perm("reports.add_weeklybulletin")
        )
    ):
        raise NotFound(_("周通报不存在或不在您的管辖范围内"), code=ReportsErrorCode.BULLETIN_NOT_FOUND)
    return bulletin

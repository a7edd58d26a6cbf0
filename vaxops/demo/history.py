"""The demo county's 2021–2022 campaign, so a newcomer sees the command view at once: doses whose curves look like
the real ones, population denominators and targets, a week of daily reports with a few townships late, and one
published weekly bulletin.

The doses follow the campaign's order: the key groups (18–59) from January to March 2021, everyone 18–59 from
April with a peak in early June, people 60+ from July 2021 with a long tail and a second push at the end of 2022;
the second dose 21–56 days after the first; boosters six months or more after the second, from late October 2021
(the winter wave). Fewer doses on weekends. They are history entered from paper records (``external``, no
traceability code: the stock ledger starts with the demo's current stock), inserted in bulk.
Deterministic for a seed; people who already have doses are left alone.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
from collections.abc import Callable

from django.db import transaction

from vaxops.catalog.defaults import STEP1_GROUPS
from vaxops.catalog.domain import add_years
from vaxops.catalog.models import Phase, PhaseTarget
from vaxops.clinic.models import Dose
from vaxops.core.actors import SystemActor
from vaxops.jurisdictions.models import Division, Level
from vaxops.registry.models import Employer, Resident, Sector
from vaxops.registry.tables import table_from_dicts
from vaxops.reports import bulletin_services
from vaxops.reports.models import DailyReport, WeeklyBulletin
from vaxops.reports.selectors import daily_report
from vaxops.reports.services import daily_reports_mark_late, population_import
from vaxops.reports.tables import COLUMNS as POPULATION_COLUMNS

CAMPAIGN_END = dt.date(2022, 12, 31)
BOOSTERS_FROM = dt.date(2021, 10, 25)
WEEKEND_FACTOR = 0.55
BULLETIN_WEEK = dt.date(2021, 6, 7)  # the campaign's busiest week: its bulletin is published
LATE_TOWNSHIPS_PER_DAY = 2
REPORT_DAYS = 7
# 行业主管部门 of the demo's employers (code, name, employer codes)
DEMO_SECTORS = (
    ("DEMO-S01", "县商务局", ("DEMO-E01", "DEMO-E02")),
    ("DEMO-S02", "县卫生健康局", ("DEMO-E04", "DEMO-E05")),
    ("DEMO-S03", "县交通运输局", ("DEMO-E03", "DEMO-E06")),
    ("DEMO-S04", "县教育局", ("DEMO-E09",)),
)
# Days some townships start later than the others (a lagging township shows red in the bulletin)
TOWNSHIP_DELAYS = (0, 0, 0, 0, 0, 3, 6, 10, 16, 24)


def _curve(start: dt.date, peak: dt.date, end: dt.date, *, tail_days: float, bumps=()) -> tuple[list, list]:
    """Days from ``start`` to ``end`` with cumulative weights: a linear rise to ``peak``, then an exponential
    decay (``tail_days``), plus optional (day, width, height) bumps; weekends weigh less."""
    days, cum, total = [], [], 0.0
    d = start
    while d <= end:
        if d <= peak:
            w = 0.05 + (d - start).days / max((peak - start).days, 1)
        else:
            w = math.exp(-(d - peak).days / tail_days)
        for centre, width, height in bumps:
            w += height * math.exp(-(((d - centre).days / width) ** 2))
        if d.weekday() >= 5:
            w *= WEEKEND_FACTOR
        total += w
        days.append(d)
        cum.append(total)
        d += dt.timedelta(days=1)
    return days, cum


def _sampler(rng: random.Random, curve: tuple[list, list]) -> Callable[[], dt.date]:
    days, cum = curve

    def pick() -> dt.date:
        return days[min(bisect.bisect_left(cum, rng.random() * cum[-1]), len(days) - 1)]

    return pick


def _weekday_shift(day: dt.date, rng: random.Random) -> dt.date:
    """A follow-up dose falls on a weekend less often (moved to the Monday or Friday in most cases)."""
    if day.weekday() >= 5 and rng.random() < 0.45:
        return (
            day + dt.timedelta(days=7 - day.weekday())
            if rng.random() < 0.5
            else day - dt.timedelta(days=day.weekday() - 4)
        )
    return day


def demo_history_doses(*, seed: int) -> int:
    """The dose history of the demo's adults (only those without doses). Returns how many were added."""
    rng = random.Random(seed * 7919)
    key_groups = _sampler(
        rng, _curve(dt.date(2021, 1, 4), dt.date(2021, 3, 8), dt.date(2021, 6, 30), tail_days=20)
    )
    adults = _sampler(
        rng, _curve(dt.date(2021, 3, 29), dt.date(2021, 6, 3), dt.date(2021, 12, 31), tail_days=28)
    )
    elderly = _sampler(
        rng,
        _curve(
            dt.date(2021, 7, 1),
            dt.date(2021, 8, 23),
            dt.date(2022, 12, 20),
            tail_days=70,
            bumps=((dt.date(2022, 12, 8), 12, 0.35),),
        ),
    )
    boosters_start = dt.date(2021, 10, 25)
    booster_wave = _curve(
        boosters_start,
        dt.date(2021, 12, 20),
        CAMPAIGN_END,
        tail_days=60,
        bumps=((dt.date(2022, 12, 10), 15, 0.3),),
    )
    born_60 = add_years(dt.date(2021, 7, 1), -60)
    have = set(Dose.objects.values_list("resident_id", flat=True).distinct())
    townships = {
        d.code[:9]: d.name
        for d in Division.objects.filter(level=Level.TOWNSHIP, code__startswith=_county_prefix())
    }
    people = (
        Resident.objects.filter(birth_date__lte=dt.date(2003, 1, 1))
        .exclude(willingness="refused")
        .order_by("id")
        .values_list("id", "birth_date", "priority_group__code", "village_code")
    )
    delays = list(TOWNSHIP_DELAYS)
    rng.shuffle(delays)
    delay = {code: dt.timedelta(days=delays[i % len(delays)]) for i, code in enumerate(sorted(townships))}
    doses: list[Dose] = []
    added = 0

    def add(pk: int, product: str, on: dt.date, place: str, *, booster: bool = False) -> None:
        doses.append(
            Dose(
                resident_id=pk,
                product_code=product,
                given_on=on,
                place=place,
                external=True,
                is_booster=booster,
            )
        )

    for pk, birth, group, village in people.iterator(chunk_size=5000):
        if pk in have:
            continue
        x = rng.random()
        product = rng.choice(("BBIBP-CorV", "CoronaVac", "WIBP-CorV"))
        old = birth is not None and birth <= born_60
        if old:
            d1 = elderly()
        elif group in STEP1_GROUPS and rng.random() < 0.8:
            d1 = key_groups()
        else:
            d1 = adults() + delay.get(village[:9], dt.timedelta())
        place = f"{townships.get(village[:9], '')}卫生院接种点"
        if x < 0.60:
            d2 = min(
                _weekday_shift(d1 + dt.timedelta(days=rng.choice((21, 21, 24, 28, 28, 35, 42, 56))), rng),
                CAMPAIGN_END,
            )
            add(pk, product, d1, place)
            add(pk, product, d2, place)
            if rng.random() < (0.30 if old else 0.45):
                earliest = max(d2 + dt.timedelta(days=180), boosters_start)
                if earliest <= CAMPAIGN_END:
                    days, cum = booster_wave
                    i0 = (earliest - boosters_start).days
                    base = cum[i0 - 1] if i0 else 0.0
                    j = bisect.bisect_left(cum, base + rng.random() * (cum[-1] - base))
                    add(pk, product, days[min(j, len(days) - 1)], place, booster=True)
        elif x < 0.70:
            add(pk, product, d1, place)
        elif x < 0.75:
            add(pk, "Convidecia", d1, place)
        if len(doses) >= 20_000:
            Dose.objects.bulk_create(doses, batch_size=5000)
            added += len(doses)
            doses = []
    Dose.objects.bulk_create(doses, batch_size=5000)
    return added + len(doses)


def _county_prefix() -> str:
    from vaxops.demo.county import COUNTY_CODE

    return COUNTY_CODE


def demo_sectors() -> None:
    """The sector departments (行业主管部门) above the demo's employers, so the bulletin ranks them too."""
    county = Division.objects.get(code=_county_prefix().ljust(12, "0"))
    for code, name, employers in DEMO_SECTORS:
        sector, _ = Sector.objects.get_or_create(code=code, defaults={"name": name, "division": county})
        Employer.objects.filter(code__in=employers, sector__isnull=True).update(sector=sector)


def demo_population_and_targets(*, year: int = 2021) -> None:
    """户籍 population of the county and its townships (from the census the demo loaded, as the statistics
    bureau's figures would be), the priority groups' counts, and targets per township: 18–59 by the end of June 2021, 60+ by the end of 2021."""
    prefix = _county_prefix()
    county = Division.objects.get(code=prefix.ljust(12, "0"))
    townships = list(Division.objects.filter(level=Level.TOWNSHIP, code__startswith=prefix).order_by("code"))
    day = dt.date(year, 7, 1)
    born_18, born_60 = add_years(day, -18), add_years(day, -60)
    counts: dict[str, list[int]] = {}
    for village, birth in Resident.objects.filter(village_code__startswith=prefix).values_list(
        "village_code", "birth_date"
    ):
        c = counts.setdefault(village[:9], [0, 0, 0])
        c[0] += 1
        if birth is not None and birth <= born_18:
            c[1] += 1
            if birth <= born_60:
                c[2] += 1
    rows = []
    for d in [county, *townships]:
        parts = [c for k, c in counts.items() if k.startswith(d.code[: 6 if d.level == Level.COUNTY else 9])]
        total, adults, old = (sum(c[i] for c in parts) for i in range(3))
        rows.append(
            {
                "区划代码": d.code,
                "区划名称": d.name,
                "年份": year,
                "人口口径": "户籍",
                "总人口": total,
                "18岁及以上": adults,
                "60岁及以上": old,
            }
        )
    headers = list(rows[0])
    aliases = {alias: key for key, names in POPULATION_COLUMNS.items() for alias in names}
    population_import(
        table=table_from_dicts(headers, iter(rows), aliases=aliases),
        actor=SystemActor("seed-demo"),
        filename="seed-demo",
    )
    # The priority groups' counts (重点人群人数) of the county and each township: the registered members of each
    # group, as the sector departments would report them, so the dashboard reads coverage by group.
    groups: dict[tuple[str, str], int] = {}
    for village, group in Resident.objects.filter(
        village_code__startswith=prefix, priority_group__isnull=False
    ).values_list("village_code", "priority_group__code"):
        for code in (county.code, village[:9].ljust(12, "0")):
            groups[(code, group)] = groups.get((code, group), 0) + 1
    if groups:
        group_rows = [
            {"区划代码": code, "年份": year, "人群分类": group, "总人口": n}
            for (code, group), n in sorted(groups.items())
        ]
        population_import(
            table=table_from_dicts(list(group_rows[0]), iter(group_rows), aliases=aliases),
            actor=SystemActor("seed-demo"),
            filename="seed-demo-groups",
        )
    phases = {p.code: p for p in Phase.objects.filter(code__in=("step1_phase2", "step2"))}
    for row, d in zip(rows, [county, *townships], strict=True):
        plan = (
            ("step1_phase2", int((row["18岁及以上"] - row["60岁及以上"]) * 0.8), dt.date(2021, 6, 30)),
            ("step2", int(row["60岁及以上"] * 0.7), dt.date(2021, 12, 31)),
        )
        for code, people, deadline in plan:
            if code in phases and people:
                PhaseTarget.objects.get_or_create(
                    phase=phases[code],
                    division=d,
                    defaults={"target_people": people, "target_doses": people * 2, "deadline": deadline},
                )


def demo_daily_reports(*, today: dt.date, seed: int) -> None:
    """The last week's daily reports: most townships confirmed theirs before 17:00; a couple each day did not
    and were marked late by the 17:00 job."""
    prefix = _county_prefix()
    rng = random.Random(seed)
    townships = list(Division.objects.filter(level=Level.TOWNSHIP, code__startswith=prefix).order_by("code"))
    for back in range(REPORT_DAYS, 0, -1):
        day = today - dt.timedelta(days=back)
        if DailyReport.objects.filter(day=day, township__in=townships).exists():
            continue
        late = set(rng.sample([t.code for t in townships], LATE_TOWNSHIPS_PER_DAY))
        rows = {r["division"]: r for r in daily_report(scope=_all(), day=day, division_code=prefix)["rows"]}
        at = dt.datetime.combine(
            day, dt.time(16, rng.randrange(0, 50)), tzinfo=dt.timezone(dt.timedelta(hours=8))
        )
        DailyReport.objects.bulk_create(
            [
                DailyReport(
                    township=t, day=day, figures=rows.get(t.code, {}), confirmed_at=at, note="已与各村核对"
                )
                for t in townships
                if t.code not in late
            ]
        )
        with transaction.atomic():
            daily_reports_mark_late(day=day)


def _all():
    from vaxops.accounts.scope import Scope

    return Scope(unrestricted=True, label="全部")


def demo_bulletin(*, week_start: dt.date = BULLETIN_WEEK) -> WeeklyBulletin:
    """The bulletin of the campaign's busiest week, drafted and published by the county."""
    actor = SystemActor("seed-demo")
    existing = WeeklyBulletin.objects.filter(
        division__code=_county_prefix().ljust(12, "0"), week_start=week_start
    ).first()
    if existing is not None and existing.status == WeeklyBulletin.Status.PUBLISHED:
        return existing
    draft = bulletin_services.weekly_bulletin_draft(
        actor=actor, week_start=week_start, division_code=_county_prefix()
    )
    return bulletin_services.weekly_bulletin_publish(actor=actor, bulletin_id=draft.pk)


def demo_progress_build(*, seed: int, today: dt.date) -> None:
    """Sectors, population, targets, the last week's daily reports and the published bulletin (after the doses)."""
    from vaxops.reports.services import facts_rebuild

    facts_rebuild()  # once more: the demo's stock and sites added today's doses after the bulk history
    demo_sectors()
    demo_population_and_targets()
    demo_daily_reports(today=today, seed=seed)
    demo_bulletin()

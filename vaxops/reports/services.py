"""Writes of the progress reports: the population denominators."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxops.accounts.scope import require
from vaxops.audit.services import audit_record, audit_record_many
from vaxops.core import clock
from vaxops.core.actors import SystemActor
from vaxops.core.errors import NotFound, PermissionDenied, ValidationFailed
from vaxops.core.joined import joined, write
from vaxops.core.prepared import prepared_cursor
from vaxops.jurisdictions.models import Division, Level
from vaxops.registry.services import ImportResult, RowError
from vaxops.registry.tables import Table

from . import domain
from .errors import ReportsErrorCode
from .models import DailyReport, DailyReportLate, GroupPopulation, Population
from .selectors import actor_scope, daily_report
from .tables import LABELS

BATCH = 500
_FIELDS = ("total", "age_18_plus", "age_60_plus")


def population_import(
    *, table: Table, actor, filename: str = "", on_batch: Callable[[ImportResult], None] | None = None
) -> ImportResult:
    """Load a population table: each valid row creates or updates the (division, year, kind) row; a bad row
    is refused with its row number, column and reason, and the others are kept. Counts add up: read =
    created + updated + unchanged + rejected. Each batch is one transaction with one audit event per change.

    A row with the 人群分类 column filled is a priority group's count instead (``GroupPopulation``: division,
    year, group code or name, 人数 in the 总人口 column; the kind and age columns are not read)."""
    require(actor, "reports.change_population")
    result = ImportResult()
    batch: list[tuple[int, domain.PopulationRow]] = []
    groups: list[tuple[int, domain.GroupPopulationRow]] = []
    has_group = "group" in table.columns
    for number, values in table.rows:
        result.read += 1
        raw = {key: values[i] if i < len(values) else None for key, i in table.columns.items()}
        row: domain.PopulationRow | domain.GroupPopulationRow | None
        if has_group and str(raw.get("group") or "").strip():
            row, errors = domain.group_population_row(raw)
        else:
            row, errors = domain.population_row(raw)
        if row is None:
            result.rejected += 1
            result.add_errors(
                [
                    RowError(
                        number, table.header_labels.get(e.field, LABELS.get(e.field, e.field)), e.message
                    )
                    for e in errors
                ]
            )
            continue
        if isinstance(row, domain.GroupPopulationRow):
            groups.append((number, row))
        else:
            batch.append((number, row))
        if len(batch) + len(groups) >= BATCH:
            _write(batch, result, table=table, actor=actor, filename=filename)
            _write_groups(groups, result, table=table, actor=actor, filename=filename)
            batch, groups = [], []
            if on_batch:
                on_batch(result)
    if batch:
        _write(batch, result, table=table, actor=actor, filename=filename)
    if groups:
        _write_groups(groups, result, table=table, actor=actor, filename=filename)
    if on_batch:
        on_batch(result)
    return result


@transaction.atomic
def _write_groups(batch, result: ImportResult, *, table: Table, actor, filename: str) -> None:
    """The priority groups' counts of a batch: created, updated or unchanged per (division, year, group)."""
    from vaxops.registry.models import PriorityGroup

    if not batch:
        return
    codes = {row.division_code for _, row in batch}
    divisions = {d.code: d for d in Division.objects.filter(code__in=codes)}
    known = list(PriorityGroup.objects.all())
    by_word = {g.code: g for g in known} | {
        g.name_zh: g for g in known if g.name_zh not in {x.code for x in known}
    }
    existing = {
        (p.division.code, p.year, p.group_id): p
        for p in GroupPopulation.objects.filter(division__code__in=codes).select_related("division")
    }
    seen: dict[tuple[str, int, int], int] = {}
    creates: list[GroupPopulation] = []
    updates: list[GroupPopulation] = []
    changes: list[tuple[str, dict | None, dict]] = []
    division_label = table.header_labels.get("division", LABELS["division"])
    group_label = table.header_labels.get("group", LABELS["group"])
    for number, row in batch:
        division = divisions.get(row.division_code)
        if division is None:
            result.rejected += 1
            result.add_errors([RowError(number, division_label, f"区划代码{row.division_code}不在区划库中")])
            continue
        group = by_word.get(row.group_code)
        if group is None:
            result.rejected += 1
            result.add_errors([RowError(number, group_label, f"人群分类“{row.group_code}”不在人群分类库中")])
            continue
        key = (row.division_code, row.year, group.pk)
        if key in seen:
            result.rejected += 1
            result.add_errors(
                [
                    RowError(
                        number, group_label, f"与第{seen[key]}行重复（同一区划、年份和人群分类只能有一行）"
                    )
                ]
            )
            continue
        seen[key] = number
        name = f"{key[0]}/{key[1]}/{group.code}"
        current = existing.get(key)
        if current is None:
            creates.append(GroupPopulation(division=division, year=row.year, group=group, total=row.total))
            result.created += 1
            changes.append((name, None, {"total": row.total}))
        elif current.total != row.total:
            changes.append((name, {"total": current.total}, {"total": row.total}))
            current.total = row.total
            current.updated_at = clock.now()
            updates.append(current)
            result.updated += 1
        else:
            result.unchanged += 1
    GroupPopulation.objects.bulk_create(creates)
    if updates:
        GroupPopulation.objects.bulk_update(updates, ["total", "updated_at"])
    if changes:
        audit_record_many(
            actor=actor,
            action="population.import",
            object_type="reports.grouppopulation",
            items=changes,
            purpose=filename[:200],
        )


@transaction.atomic
def _write(batch, result: ImportResult, *, table: Table, actor, filename: str) -> None:
    codes = {row.division_code for _, row in batch}
    divisions = {d.code: d for d in Division.objects.filter(code__in=codes)}
    existing = {
        (p.division.code, p.year, p.kind): p
        for p in Population.objects.filter(division__code__in=codes).select_related("division")
    }
    seen: dict[tuple[str, int, str], int] = {}
    creates: list[Population] = []
    updates: list[Population] = []
    changes: list[tuple[str, dict | None, dict]] = []
    label = table.header_labels.get("division", LABELS["division"])
    for number, row in batch:
        division = divisions.get(row.division_code)
        if division is None:
            result.rejected += 1
            result.add_errors([RowError(number, label, f"区划代码{row.division_code}不在区划库中")])
            continue
        key = (row.division_code, row.year, row.kind.value)
        if key in seen:
            result.rejected += 1
            result.add_errors(
                [RowError(number, label, f"与第{seen[key]}行重复（同一区划、年份和口径只能有一行）")]
            )
            continue
        seen[key] = number
        new = {f: getattr(row, f) for f in _FIELDS}
        current = existing.get(key)
        if current is None:
            creates.append(Population(division=division, year=row.year, kind=row.kind.value, **new))
            result.created += 1
            changes.append((f"{key[0]}/{key[1]}/{key[2]}", None, new))
        elif any(getattr(current, f) != v for f, v in new.items()):
            old = {f: getattr(current, f) for f in _FIELDS}
            for f, v in new.items():
                setattr(current, f, v)
            current.updated_at = clock.now()
            updates.append(current)
            result.updated += 1
            changes.append((f"{key[0]}/{key[1]}/{key[2]}", old, new))
        else:
            result.unchanged += 1
    Population.objects.bulk_create(creates)
    if updates:
        Population.objects.bulk_update(updates, [*_FIELDS, "updated_at"])
    if changes:
        audit_record_many(
            actor=actor,
            action="population.import",
            object_type="reports.population",
            items=changes,
            purpose=filename[:200],
        )


# ------------------------------------------------------------------------------ the daily report (日报表)
#
# A township confirms its figures of the day by 17:00 (a stored snapshot); the 17:00 job marks every township
# that has not; a correction after confirmation is a new version with its reason.


def _township_for(actor, code: str) -> Division:
    scope = actor_scope(actor)
    township = Division.objects.filter(code=code.strip().ljust(12, "0"), level=Level.TOWNSHIP).first()
    if township is None:
        raise NotFound(
            _("乡镇（街道）不存在：%(code)s") % {"code": code},
            field="township",
            code=ReportsErrorCode.TOWNSHIP_NOT_FOUND,
        )
    if not scope.covers_code(township.code):
        raise PermissionDenied(
            _("该乡镇不在您的管辖范围内"), field="township", code=ReportsErrorCode.TOWNSHIP_OUT_OF_SCOPE
        )
    return township


@transaction.atomic
def daily_report_confirm(
    *, actor, township_code: str, day: dt.date, note: str = "", reason: str = ""
) -> DailyReport:
    """Confirm a township's report of ``day`` with today's figures from the records (version 1), or correct a
    confirmed one (a new version, ``reason`` required). Two confirmations at once cannot both be version 1:
    the database's unique version refuses the second, which is told the report is already confirmed."""
    require(actor, "reports.confirm_dailyreport")
    township = _township_for(actor, township_code)
    if day > clock.today():
        raise ValidationFailed(_("不能确认未来日期的日报表"), code=ReportsErrorCode.DAY_FUTURE, field="day")
    note, reason = (note or "").strip(), (reason or "").strip()
    latest = DailyReport.objects.filter(township=township, day=day).order_by("-version").first()
    if latest is not None and not reason:
        raise ValidationFailed(
            _("%(township)s%(day)s的日报表已于%(at)s确认（第%(version)s版）；如需更正，请填写更正原因")
            % {
                "township": township.name,
                "day": day,
                "at": clock_text(latest.confirmed_at),
                "version": latest.version,
            },
            code=ReportsErrorCode.ALREADY_CONFIRMED,
            field="reason",
        )
    if latest is None and reason:
        reason = ""  # a first confirmation corrects nothing
    figures = daily_report(scope=actor_scope(actor), day=day, division_code=township.code)["total"]
    now = clock.now()
    due = timezone.make_aware(domain.daily_report_due(day))
    version = (latest.version + 1) if latest else 1
    try:
        with transaction.atomic():
            report = DailyReport.objects.create(
                township=township,
                day=day,
                version=version,
                figures=figures,
                note=note[:500],
                reason=reason[:200],
                confirmed_by=actor if getattr(actor, "pk", None) else None,
                confirmed_at=now,
                late=now > due,
            )
    except IntegrityError:
        raise ValidationFailed(
            _("%(township)s%(day)s的日报表刚被他人确认，请刷新后查看")
            % {"township": township.name, "day": day},
            code=ReportsErrorCode.ALREADY_CONFIRMED,
        ) from None
    audit_record(
        actor=actor,
        action="daily_report.confirm" if version == 1 else "daily_report.correct",
        obj=report,
        purpose=reason[:200],
        old={"version": latest.version, "figures": latest.figures} if latest else None,
        new={
            "version": version,
            "day": day.isoformat(),
            "township": township.code,
            "figures": figures,
            "late": report.late,
        },
    )
    return report


def clock_text(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


@transaction.atomic
def daily_reports_mark_late(*, day: dt.date | None = None) -> list[str]:
    """The 17:00 job: every township without a confirmed report of ``day`` (today by default) is marked late,
    once; returns the codes marked now. The county sees them on its progress page; each township sees its
    own on its home page."""
    day = day or clock.today()
    confirmed = DailyReport.objects.filter(day=day).values("township_id")
    already = DailyReportLate.objects.filter(day=day).values("township_id")
    townships = list(
        Division.objects.filter(level=Level.TOWNSHIP)
        .exclude(pk__in=confirmed)
        .exclude(pk__in=already)
        .order_by("code")
    )
    now = clock.now()
    DailyReportLate.objects.bulk_create(
        [DailyReportLate(township=t, day=day, marked_at=now) for t in townships], ignore_conflicts=True
    )
    if townships:
        audit_record_many(
            actor=SystemActor("daily-report-late"),
            action="daily_report.late",
            object_type="jurisdictions.division",
            items=[(t.code, None, {"day": day.isoformat(), "township": t.name}) for t in townships],
        )
    return [t.code for t in townships]


# ------------------------------------------------------------------------------- facts kept as doses happen

_DOSE_DIMS = ("day", "village_code", "site_id", "product_code", "kind")
_PEOPLE_DIMS = ("day", "village_code", "event", "band", "sex", "group_id", "employer_id")
_PROGRESS_COLS = (
    "resident_id",
    "village_code",
    "birth_date",
    "sex",
    "group_id",
    "employer_id",
    "first_on",
    "completed_on",
    "booster_on",
    "doses",
)
_LAST = 2**62  # a dose not yet written sorts after every written one of its day


_primary_cache: list = [None, {}]  # [the catalogue it was read from, product → primary doses]


def primary_doses() -> dict[str, int]:
    """Product → doses of its primary course, from the schedule version that started last (worked out once per
    catalogue: the catalogue is cached per process and replaced when the county edits it)."""
    from vaxops.catalog.selectors import catalogue_current

    catalogue = catalogue_current()
    if _primary_cache[0] is not catalogue:
        out: dict[str, int] = {}
        for pol in sorted(catalogue.policies, key=lambda p: p.effective_from):
            out[pol.product_code] = pol.primary_doses
        _primary_cache[:] = [catalogue, out]
    return dict(_primary_cache[1])


def _date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _upsert(table: str, dims: tuple[str, ...], rows: dict[tuple, int]) -> tuple[str, list] | None:
    """One statement adding ``n`` to each row (inserting it when missing): the arithmetic is the database's,
    so concurrent writers never lose an increment."""
    if not rows:
        return None
    params: list = []
    for key, n in rows.items():
        params.extend(key)
        params.append(n)
    return _upsert_sql(table, dims, len(rows)), params


@functools.lru_cache(maxsize=256)
def _upsert_sql(table: str, dims: tuple[str, ...], count: int) -> str:
    """The text of ``_upsert``'s statement for ``count`` rows (built once per shape)."""
    width = len(dims) + 1
    values = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * count)
    cols = ", ".join(dims)
    return (
        f"INSERT INTO {table} ({cols}, n) VALUES {values} "  # noqa: S608 - names from this module
        f"ON CONFLICT ({cols}) DO UPDATE SET n = {table}.n + excluded.n"
    )


def _execute_all(statements: list[tuple[str, list] | None]) -> None:
    """The writes, with the other apps' writes when the record's sender joins them (``core.joined``: one
    statement on PostgreSQL)."""
    with joined():  # one statement on PostgreSQL even when the caller has not joined the writes
        for part in statements:
            if part is not None:
                write(*part)


def _totals(rows: dict[tuple, int]) -> dict[tuple, int]:
    """The same deltas without the day (the first dimension)."""
    out: dict[tuple, int] = {}
    for key, n in rows.items():
        out[key[1:]] = out.get(key[1:], 0) + n
    return {k: n for k, n in out.items() if n}


_PEOPLE_READ = (
    "SELECT r.id, r.village_code, r.birth_date, r.sex, COALESCE(r.priority_group_id, 0), "
    "COALESCE(r.employer_id, 0), p.resident_id, p.village_code, p.birth_date, p.sex, p.group_id, "
    "p.employer_id, p.first_on, p.completed_on, p.booster_on, p.doses{doses} "
    "FROM registry_resident r LEFT JOIN reports_personprogress p ON p.resident_id = r.id "
    "WHERE {where}"
)
# PostgreSQL: the person's standing doses come with the person (one statement less on the dose's path).
_PEOPLE_READ_PG = _PEOPLE_READ.format(
    doses=", (SELECT json_agg(json_build_array(d.given_on, d.id, d.product_code, COALESCE(d.site_id, 0), "
    "d.is_booster)) FROM clinic_dose d WHERE d.resident_id = r.id AND d.voided_at IS NULL)",
    where="r.id = ANY($1)",
)
_PEOPLE_LOCK_PG = "SELECT id FROM registry_resident WHERE id = ANY($1) ORDER BY id FOR UPDATE"
_PEOPLE_READ = _PEOPLE_READ.format(doses="", where="{where}")


# One person given one dose (the desk's, about to be written; an external one, just written), PostgreSQL: one
# statement locks the person and their progress row and reads both as they are now. The person is locked
# first (``FOR UPDATE`` returns the row's latest version once the lock is granted); the progress row is then
# upserted — inserted empty when missing, else updated to itself — and under READ COMMITTED an upsert's
# ``DO UPDATE`` locks and returns the latest committed version of the row even when it is newer than the
# statement's snapshot. So a concurrent writer of the same person has either committed (its facts are in the
# row returned) or waits for this transaction. The dose is then added to what the person added up to before
# (``domain.person_facts_with``) without reading their doses; only a dose dated before the person's last one
# needs their doses, read in a statement of their own after the locks (its snapshot holds every earlier
# writer's doses).
_PERSON_TAKE_PG = (
    "WITH r AS (SELECT id, village_code, birth_date, sex, COALESCE(priority_group_id, 0) AS g, "
    "COALESCE(employer_id, 0) AS e FROM registry_resident WHERE id = $1 FOR UPDATE), "
    "p AS (INSERT INTO reports_personprogress (resident_id, village_code, sex, group_id, employer_id, doses) "
    "SELECT id, village_code, '', 0, 0, '' FROM r "
    "ON CONFLICT (resident_id) DO UPDATE SET doses = reports_personprogress.doses "
    "RETURNING resident_id, village_code, birth_date, sex, group_id, employer_id, first_on, completed_on, "
    "booster_on, doses) "
    "SELECT r.id, r.village_code, r.birth_date, r.sex, r.g, r.e, p.resident_id, p.village_code, p.birth_date, "
    "p.sex, p.group_id, p.employer_id, p.first_on, p.completed_on, p.booster_on, p.doses "
    "FROM r JOIN p ON p.resident_id = r.id"
)


def _old_facts(row) -> domain.PersonFacts | None:
    """What a person added to the facts before, from their progress columns in a read's row (None: nothing;
    an empty row is the placeholder ``_PERSON_TAKE_PG`` inserted)."""
    if row[6] is None or not row[15]:
        return None
    return domain.PersonFacts(
        village_code=row[7],
        birth_date=_date(row[8]),
        sex=row[9],
        group_id=int(row[10]),
        employer_id=int(row[11]),
        doses=domain.doses_from_text(row[15]),
        first_on=_date(row[12]),
        completed_on=_date(row[13]),
        booster_on=_date(row[14]),
    )


def _standing(dose) -> domain.StandingDose:
    return domain.StandingDose(
        _date(dose.given_on),
        _LAST if dose.pk is None else int(dose.pk),
        dose.product_code,
        dose.site_id or 0,
        bool(dose.is_booster),
    )


def facts_apply(*, resident_ids, pending=None, primary: dict[str, int] | None = None) -> None:
    """Bring the facts up to date with these people's records: each person's contribution is recomputed from
    their standing doses (plus ``pending``, a dose about to be written in this transaction) and the
    difference with what they added before is added to the facts. Call inside the writing transaction.

    ``pending`` may also be a dose written in this transaction: for one person given one dose, PostgreSQL adds
    it to what the person added before (``_PERSON_TAKE_PG``) instead of reading their doses."""
    ids = sorted({int(i) for i in resident_ids})
    if not ids:
        return
    primary = primary if primary is not None else primary_doses()
    pg = connection.vendor == "postgresql"
    with prepared_cursor() if pg else connection.cursor() as cursor:
        people = None
        if pg and pending is not None and ids == [pending.resident_id]:
            cursor.execute(_PERSON_TAKE_PG, ids)
            people = cursor.fetchall()
            if people:
                row = people[0]
                old = _old_facts(row)
                new = domain.person_facts_with(
                    old,
                    village_code=row[1],
                    birth_date=_date(row[2]),
                    sex=row[3] or "",
                    group_id=int(row[4]),
                    employer_id=int(row[5]),
                    dose=_standing(pending),
                    primary=primary,
                    last_of_its_day=pending.pk is None,
                )
                if new is not None:
                    _execute_all(_statements_added(row[0], old, new))
                    return
            people = None  # counted anew below, from their doses read now
        if pg:
            # One writer per person at a time: the lock first, then the read in a statement of its own, whose
            # snapshot is taken after the lock is granted and so holds the doses of a writer that held it before.
            # (Read in the locking statement, a waiting writer's doses subquery would keep its old snapshot.)
            # Both planned once per connection. SQLite writers are serialised by the database already.
            if people is None and not (pending is not None and ids == [pending.resident_id]):
                cursor.execute(_PEOPLE_LOCK_PG, [ids])
            cursor.execute(_PEOPLE_READ_PG, [ids])
            people = cursor.fetchall()
            rows = [(row[0], *d) for row in people for d in (row[16] or [])]
        else:
            marks = ", ".join(["%s"] * len(ids))
            cursor.execute(
                _PEOPLE_READ.format(where=f"r.id IN ({marks})"),  # noqa: S608
                ids,
            )
            people = cursor.fetchall()
            cursor.execute(
                "SELECT resident_id, given_on, id, product_code, COALESCE(site_id, 0), is_booster "  # noqa: S608
                f"FROM clinic_dose WHERE voided_at IS NULL AND resident_id IN ({marks})",  # noqa: S608
                ids,
            )
            rows = cursor.fetchall()
        doses: dict[int, list[domain.StandingDose]] = {}
        for rid, given_on, pk, product, site, booster in rows:
            doses.setdefault(rid, []).append(
                domain.StandingDose(_date(given_on), int(pk), product, int(site), bool(booster))
            )
        if pending is not None and pending.pk is None:
            doses.setdefault(pending.resident_id, []).append(_standing(pending))
        changes: list[tuple[int, domain.PersonFacts | None, domain.PersonFacts | None]] = []
        placeholders: list[int] = []
        for row in people:
            rid = row[0]
            old = _old_facts(row)
            if row[6] is not None and old is None:
                placeholders.append(rid)
            mine = doses.get(rid, [])
            new = None
            if mine:
                new = domain.person_facts(
                    village_code=row[1],
                    birth_date=_date(row[2]),
                    sex=row[3] or "",
                    group_id=int(row[4]),
                    employer_id=int(row[5]),
                    doses=mine,
                    primary=primary,
                )
            if new != old or rid in placeholders:
                changes.append((rid, old, new))
        _execute_all(_statements(changes, placeholders=placeholders))


def _statements(changes, *, placeholders) -> list[tuple[str, list] | None]:
    """The writes bringing the facts from each person's ``old`` to ``new`` (rid, old, new): the differences added
    to the four fact tables, the progress rows upserted or deleted (a placeholder row with no doses is deleted)."""
    dose_delta: dict[tuple, int] = {}
    people_delta: dict[tuple, int] = {}
    keep: list[tuple] = []
    drop: list[int] = []
    for rid, old, new in changes:
        for k, n in domain.difference(domain.dose_keys(new), domain.dose_keys(old)).items():
            dose_delta[k] = dose_delta.get(k, 0) + n
        for k, n in domain.difference(domain.people_keys(new), domain.people_keys(old)).items():
            people_delta[k] = people_delta.get(k, 0) + n
        if new is None:
            if old is not None or rid in placeholders:
                drop.append(rid)
        else:
            keep.append(
                (
                    rid,
                    new.village_code,
                    new.birth_date,
                    new.sex,
                    new.group_id,
                    new.employer_id,
                    new.first_on,
                    new.completed_on,
                    new.booster_on,
                    domain.doses_text(new.doses),
                )
            )
    dose_delta = {k: n for k, n in dose_delta.items() if n}
    people_delta = {k: n for k, n in people_delta.items() if n}
    statements = [
        _upsert("reports_dosefact", _DOSE_DIMS, dose_delta),
        _upsert("reports_dosetotal", _DOSE_DIMS[1:], _totals(dose_delta)),
        _upsert("reports_peoplefact", _PEOPLE_DIMS, people_delta),
        _upsert("reports_peopletotal", _PEOPLE_DIMS[1:], _totals(people_delta)),
    ]
    if keep:
        statements.append(_progress_upsert(len(keep), [v for row in keep for v in row]))
    if drop:
        statements.append(
            (
                "DELETE FROM reports_personprogress WHERE resident_id IN "  # noqa: S608
                f"({', '.join(['%s'] * len(drop))})",
                drop,
            )
        )
    return statements


def _statements_added(rid: int, old: domain.PersonFacts | None, new: domain.PersonFacts):
    """``_statements`` for one person given one dose (``person_facts_with``), without comparing all their keys:
    where they count has not changed, so the dose adds one to its key and each step reached first now (first
    dose, completed course, booster) one to its key."""
    if old is not None and (old.village_code, old.birth_date, old.sex, old.group_id, old.employer_id) != (
        new.village_code,
        new.birth_date,
        new.sex,
        new.group_id,
        new.employer_id,
    ):
        return _statements([(rid, old, new)], placeholders=())
    added = set(new.doses)
    if old is not None:
        added.difference_update(old.doses)
    dose_delta: dict[tuple, int] = {}
    for day, site, product, kind in new.doses:  # the new dose (one more of a key already held is also one)
        if (day, site, product, kind) in added:
            dose_delta[(day, new.village_code, site, product, kind)] = 1
    if not added:  # the same key twice (two doses alike on one day): the generic path counts it
        return _statements([(rid, old, new)], placeholders=())
    people_delta: dict[tuple, int] = {}
    for event, before, now in (
        (domain.Event.FIRST_DOSE, old.first_on if old else None, new.first_on),
        (domain.Event.COMPLETED, old.completed_on if old else None, new.completed_on),
        (domain.Event.BOOSTER, old.booster_on if old else None, new.booster_on),
    ):
        if before is None and now is not None:
            key = (
                now,
                new.village_code,
                int(event),
                domain.age_band(new.birth_date, now),
                new.sex,
                new.group_id,
                new.employer_id,
            )
            people_delta[key] = 1
    keep = [
        rid,
        new.village_code,
        new.birth_date,
        new.sex,
        new.group_id,
        new.employer_id,
        new.first_on,
        new.completed_on,
        new.booster_on,
        domain.doses_text(new.doses),
    ]
    return [
        _upsert("reports_dosefact", _DOSE_DIMS, dose_delta),
        _upsert("reports_dosetotal", _DOSE_DIMS[1:], _totals(dose_delta)),
        _upsert("reports_peoplefact", _PEOPLE_DIMS, people_delta),
        _upsert("reports_peopletotal", _PEOPLE_DIMS[1:], _totals(people_delta)),
        _progress_upsert(1, keep),
    ]


@functools.lru_cache(maxsize=64)
def _progress_sql(rows: int) -> str:
    cols = ", ".join(_PROGRESS_COLS)
    values = ", ".join(["(" + ", ".join(["%s"] * len(_PROGRESS_COLS)) + ")"] * rows)
    sets = ", ".join(f"{c} = excluded.{c}" for c in _PROGRESS_COLS[1:])
    return (
        f"INSERT INTO reports_personprogress ({cols}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT (resident_id) DO UPDATE SET {sets}"
    )


def _progress_upsert(rows: int, params: list) -> tuple[str, list]:
    return _progress_sql(rows), params


def facts_refresh_people(*, resident_ids, chunk: int = 1000) -> int:
    """Re-apply the people whose place in the facts changed (village, birth date, sex, group or employer);
    returns how many. Runs after the registry's commit, in transactions of its own. One range query finds
    them (new residents have no progress yet and cost nothing)."""
    wanted = {int(i) for i in resident_ids}
    if not wanted:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.resident_id FROM reports_personprogress p "
            "JOIN registry_resident r ON r.id = p.resident_id "
            "WHERE p.resident_id >= %s AND p.resident_id <= %s AND (p.village_code <> r.village_code "
            "OR p.sex <> r.sex OR p.group_id <> COALESCE(r.priority_group_id, 0) "
            "OR p.employer_id <> COALESCE(r.employer_id, 0) "
            "OR COALESCE(p.birth_date, '1000-01-01') <> COALESCE(r.birth_date, '1000-01-01'))",
            [min(wanted), max(wanted)],
        )
        stale = sorted(row[0] for row in cursor.fetchall() if row[0] in wanted)
    for start in range(0, len(stale), chunk):
        with transaction.atomic():
            facts_apply(resident_ids=stale[start : start + chunk])
    return len(stale)


@transaction.atomic
def facts_rebuild(*, actor=None) -> dict:
    """Recompute every fact from the records in bulk SQL (the progress rows, then the facts from them and
    from the classified doses, then the totals). Returns the rows written and the seconds taken."""
    import time

    from .selectors import classified_temp_create, dose_facts_sql, people_facts_sql, progress_sql

    t0 = time.perf_counter()
    primary = primary_doses()
    with connection.cursor() as cursor:
        for table in (
            "reports_dosefact",
            "reports_dosetotal",
            "reports_peoplefact",
            "reports_peopletotal",
            "reports_personprogress",
        ):
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608
        source = classified_temp_create(cursor, primary)
        sql, params = progress_sql(primary, source=source)
        cursor.execute(
            f"INSERT INTO reports_personprogress ({', '.join(_PROGRESS_COLS)}) {sql}",  # noqa: S608
            params,
        )
        progress = cursor.rowcount
        sql, params = dose_facts_sql(primary, source=source)
        cursor.execute(f"INSERT INTO reports_dosefact ({', '.join(_DOSE_DIMS)}, n) {sql}", params)  # noqa: S608
        cursor.execute(f"DROP TABLE {source}")
        dims = ", ".join(_DOSE_DIMS[1:])
        cursor.execute(
            f"INSERT INTO reports_dosetotal ({dims}, n) "  # noqa: S608
            f"SELECT {dims}, SUM(n) FROM reports_dosefact GROUP BY {dims}"
        )
        sql, params = people_facts_sql("reports_personprogress", [])
        cursor.execute(f"INSERT INTO reports_peoplefact ({', '.join(_PEOPLE_DIMS)}, n) {sql}", params)  # noqa: S608
        dims = ", ".join(_PEOPLE_DIMS[1:])
        cursor.execute(
            f"INSERT INTO reports_peopletotal ({dims}, n) "  # noqa: S608
            f"SELECT {dims}, SUM(n) FROM reports_peoplefact GROUP BY {dims}"
        )
        counts = {}
        for name, table in (
            ("dose", "reports_dosefact"),
            ("dose_total", "reports_dosetotal"),
            ("people", "reports_peoplefact"),
            ("people_total", "reports_peopletotal"),
        ):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
            counts[name] = cursor.fetchone()[0]
    seconds = round(time.perf_counter() - t0, 2)
    if actor is not None:
        audit_record(actor=actor, action="reports.facts_rebuild", new={"people": progress, **counts})
    return {"people": progress, "rows": counts, "seconds": seconds}


def facts_check() -> dict:
    """Recount the facts from the records and compare (see ``selectors.facts_differences``)."""
    from .selectors import facts_differences

    return facts_differences(primary=primary_doses())

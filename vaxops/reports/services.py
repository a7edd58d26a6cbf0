"""Writes of the progress reports: the population denominators."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxops.accounts.scope import require
from vaxops.audit.services import audit_record, audit_record_many
from vaxops.core import clock
from vaxops.core.actors import SystemActor
from vaxops.core.errors import NotFound, PermissionDenied, ValidationFailed
from vaxops.jurisdictions.models import Division, Level
from vaxops.registry.services import ImportResult, RowError
from vaxops.registry.tables import Table

from . import domain
from .errors import ReportsErrorCode
from .models import DailyReport, DailyReportLate, Population
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
    """
    require(actor, "reports.change_population")
    result = ImportResult()
    batch: list[tuple[int, domain.PopulationRow]] = []
    for number, values in table.rows:
        result.read += 1
        raw = {key: values[i] if i < len(values) else None for key, i in table.columns.items()}
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
        batch.append((number, row))
        if len(batch) >= BATCH:
            _write(batch, result, table=table, actor=actor, filename=filename)
            batch = []
            if on_batch:
                on_batch(result)
    if batch:
        _write(batch, result, table=table, actor=actor, filename=filename)
    if on_batch:
        on_batch(result)
    return result


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

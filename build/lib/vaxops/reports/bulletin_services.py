"""Writes of the weekly bulletin (周通报): the county drafts a week's bulletin (a snapshot of its figures, made
again on request while it is a draft) and publishes it; a published bulletin is frozen. Each write is audited in
its transaction; publishing twice is the same as once."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from vaxops.accounts.scope import require
from vaxops.audit.services import audit_record
from vaxops.core import clock
from vaxops.core.errors import PermissionDenied, ValidationFailed
from vaxops.jurisdictions.models import Level

from . import domain
from .bulletin import bulletin_figures, weekly_bulletin_get
from .errors import ReportsErrorCode
from .models import WeeklyBulletin
from .selectors import actor_scope, report_division


def _county(actor, division_code: str | None):
    division = report_division(scope=actor_scope(actor), code=division_code)
    if division.level != Level.COUNTY:
        raise PermissionDenied(
            _("周通报由县级编制和发布"), field="division", code=ReportsErrorCode.BULLETIN_COUNTY_ONLY
        )
    return division


def _summary(b: WeeklyBulletin) -> dict:
    return {"week_start": b.week_start.isoformat(), "status": b.status, "totals": b.figures.get("totals")}


@transaction.atomic
def weekly_bulletin_draft(*, actor, week_start: dt.date, division_code: str | None = None) -> WeeklyBulletin:
    """The county's draft bulletin of the week holding ``week_start``, counted now from the records (created, or
    made again while still a draft). The week must be over; a published bulletin is refused (frozen)."""
    require(actor, "reports.add_weeklybulletin")
    county = _county(actor, division_code)
    start, end = domain.week_of(week_start)
    if end >= clock.today():
        raise ValidationFailed(
            _("%(end)s 之后才能编制该周（%(label)s）的通报")
            % {"end": end.isoformat(), "label": domain.week_label(start)},
            field="week",
            code=ReportsErrorCode.BULLETIN_WEEK_NOT_OVER,
        )
    figures = bulletin_figures(county=county, week_start=start)
    existing = WeeklyBulletin.objects.select_for_update().filter(division=county, week_start=start).first()
    if existing is not None and existing.status == WeeklyBulletin.Status.PUBLISHED:
        raise ValidationFailed(
            _("%(label)s的通报已于%(at)s发布，不能再修改")
            % {"label": domain.week_label(start), "at": existing.published_at.date()},
            field="week",
            code=ReportsErrorCode.BULLETIN_PUBLISHED,
        )
    now = clock.now()
    actor_user = actor if getattr(actor, "pk", None) else None
    if existing is None:
        try:
            with transaction.atomic():
                bulletin = WeeklyBulletin.objects.create(
                    division=county, week_start=start, figures=figures, created_by=actor_user, created_at=now
                )
        except IntegrityError:  # drafted at the same moment by someone else: make theirs again
            bulletin = WeeklyBulletin.objects.select_for_update().get(division=county, week_start=start)
            if bulletin.status == WeeklyBulletin.Status.PUBLISHED:
                return bulletin
            existing = bulletin
        else:
            audit_record(actor=actor, action="weekly_bulletin.draft", obj=bulletin, new=_summary(bulletin))
            return bulletin
    old = _summary(existing)
    existing.figures, existing.created_by, existing.created_at = figures, actor_user, now
    existing.save(update_fields=["figures", "created_by", "created_at"])
    audit_record(actor=actor, action="weekly_bulletin.redraft", obj=existing, old=old, new=_summary(existing))
    return existing


@transaction.atomic
def weekly_bulletin_publish(*, actor, bulletin_id: int) -> WeeklyBulletin:
    """Publish a draft as it stands (its snapshot is not counted again). Publishing a published bulletin
    changes nothing and returns it; two publishers at once publish it once (a conditional update)."""
    require(actor, "reports.publish_weeklybulletin")
    bulletin = weekly_bulletin_get(actor=actor, bulletin_id=bulletin_id)
    if bulletin.status == WeeklyBulletin.Status.PUBLISHED:
        return bulletin
    now = clock.now()
    changed = WeeklyBulletin.objects.filter(pk=bulletin.pk, status=WeeklyBulletin.Status.DRAFT).update(
        status=WeeklyBulletin.Status.PUBLISHED,
        published_at=now,
        published_by=actor if getattr(actor, "pk", None) else None,
    )
    bulletin.refresh_from_db()
    if changed:
        audit_record(
            actor=actor,
            action="weekly_bulletin.publish",
            obj=bulletin,
            old={"status": WeeklyBulletin.Status.DRAFT},
            new=_summary(bulletin),
        )
    return bulletin

"""Writes of sites: planning a session's slots from the site's hours, the "四有" readiness checklist,
staff assignments (持证上岗), opening and closing, and places reserved for villages or employers."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from vaxops.audit.services import audit_record
from vaxops.core import clock
from vaxops.core.errors import ValidationFailed

from . import domain
from .errors import SitesErrorCode
from .models import (
    Assignment,
    Certificate,
    Desk,
    DeskKind,
    ReadinessCheck,
    ReadinessItem,
    Session,
    SessionStatus,
    Site,
    StaffMember,
    VenueKind,
)
from .signals import session_planned, session_readiness_asked


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def site_hours(site: Site) -> tuple[domain.WeeklyHours, list[domain.HoursException]]:
    by_day: dict[int, list] = {}
    for h in site.hours.all():
        by_day.setdefault(h.weekday, []).append((h.start, h.end))
    exceptions: dict[dt.date, list] = {}
    notes: dict[dt.date, str] = {}
    for e in site.exceptions.all():
        exceptions.setdefault(e.day, [])
        notes[e.day] = e.note
        if not e.closed and e.start and e.end:
            exceptions[e.day].append((e.start, e.end))
    try:
        hours = domain.WeeklyHours(by_weekday=by_day)
        excs = [
            domain.HoursException(day=d, intervals=tuple(v), note=notes[d]) for d, v in exceptions.items()
        ]
    except ValueError as e:
        raise ValidationFailed(
            _("%(site_name)s的开放时间有误：%(error)s") % {"site_name": site.name, "error": e},
            code=SitesErrorCode.SITE_HOURS_INVALID,
        ) from None
    return hours, excs


def vaccination_desks(site: Site) -> int:
    """How many of the site's desks vaccinate: 接种台 and combined desks that also vaccinate."""
    return sum(1 for d in site.desks.all() if DeskKind.VACCINATION in d.serves)


def _venue(*, site: Site, venue: dict | None) -> dict:
    """The session's venue fields, checked: a village must be a village of the site's county or below, an
    employer must be given for an employer venue, an address for an address venue."""
    venue = dict(venue or {})
    kind = venue.get("venue_kind") or VenueKind.SITE
    out = {
        "venue_kind": kind,
        "venue_village": venue.get("venue_village"),
        "venue_employer": venue.get("venue_employer"),
        "venue_address": (venue.get("venue_address") or "").strip()[:200],
    }
    need = {
        VenueKind.VILLAGE: ("venue_village", _("请选择接种地点所在的村（社区）")),
        VenueKind.EMPLOYER: ("venue_employer", _("请选择接种地点所在的单位")),
        VenueKind.ADDRESS: ("venue_address", _("请填写接种地点的地址")),
    }
    if kind not in VenueKind.values:
        raise ValidationFailed(
            _("未知的接种地点类型：%(kind)s") % {"kind": kind},
            field="venue_kind",
            code=SitesErrorCode.VENUE_INVALID,
        )
    if kind in need and not out[need[kind][0]]:
        raise ValidationFailed(need[kind][1], field=need[kind][0], code=SitesErrorCode.VENUE_INVALID)
    if kind != VenueKind.VILLAGE:
        out["venue_village"] = None
    if kind != VenueKind.EMPLOYER:
        out["venue_employer"] = None
    return out


def site_may_serve(site: Site, day: dt.date) -> None:
    """Refuse ``day`` at a site that may not vaccinate then: only a 预防接种单位 that holds its qualification
    (资格, number and date) may, and not before its planned opening date (拟启用日期)."""
    if not site.qualification_number:
        raise ValidationFailed(
            _(
                "%(site_name)s尚未登记接种单位资格，不能安排接种场次：须由已取得资格的预防接种单位接种，"
                "请先登记资格编号和认定日期"
            )
            % {"site_name": site.name},
            field="site",
            code=SitesErrorCode.SITE_UNQUALIFIED,
        )
    if site.qualification_date and day < site.qualification_date:
        raise ValidationFailed(
            _("%(site_name)s的接种单位资格自%(since)s起有效，不能安排%(day)s的接种场次")
            % {
                "site_name": site.name,
                "since": format(site.qualification_date, "%Y-%m-%d"),
                "day": format(day, "%Y-%m-%d"),
            },
            field="day",
            code=SitesErrorCode.SITE_UNQUALIFIED,
        )
    if site.planned_opening and day < site.planned_opening:
        raise ValidationFailed(
            _("%(site_name)s拟于%(opening)s启用，不能在此之前（%(day)s）安排接种场次")
            % {
                "site_name": site.name,
                "opening": format(site.planned_opening, "%Y-%m-%d"),
                "day": format(day, "%Y-%m-%d"),
            },
            field="day",
            code=SitesErrorCode.SITE_NOT_YET_OPEN,
        )


@transaction.atomic
def session_plan(
    *, actor, site: Site, day: dt.date, desks: int | None = None, venue: dict | None = None
) -> Session:
    """Create the session of ``site`` on ``day`` with its slots: the day's open hours cut into slots of
    ``site.slot_minutes``, each holding desks × throughput × minutes / 60 people, of which the site's
    walk-in share is kept for walk-ins (largest remainder rounding). The slot rows are booking's: it makes
    them on ``signals.session_planned``, in this transaction. Refuses a day the site is closed.

    ``venue`` (``venue_kind``, ``venue_village``, ``venue_employer``, ``venue_address``) places the session
    away from the site: a mobile team at a village or at an employer's premises. A site without its
    qualification on ``day``, or before its planned opening date, is refused (:func:`site_may_serve`)."""
    if day < clock.today():
        raise ValidationFailed(
            _("不能为过去的日期安排场次"), field="day", code=SitesErrorCode.SESSION_IN_PAST
        )
    site_may_serve(site, day)
    where = _venue(site=site, venue=venue)
    desks = desks if desks is not None else vaccination_desks(site)
    if desks < 1:
        raise ValidationFailed(
            _("%(site_name)s没有接种台，请先登记接种台") % {"site_name": site.name},
            field="desks",
            code=SitesErrorCode.SITE_NO_DESKS,
        )
    hours, exceptions = site_hours(site)
    intervals = domain.open_intervals(hours, exceptions, day)
    if not intervals:
        raise ValidationFailed(
            _("%(site_name)s在%(day)s不开放") % {"site_name": site.name, "day": format(day, "%Y-%m-%d")},
            field="day",
            code=SitesErrorCode.SITE_CLOSED_ON_DAY,
        )
    specs = domain.slots_for_day(
        intervals, slot_minutes=site.slot_minutes, desks=desks, per_desk_per_hour=site.per_desk_per_hour
    )
    try:
        with transaction.atomic():
            session = Session.objects.create(site=site, day=day, desks=desks, **where)
    except IntegrityError:
        raise ValidationFailed(
            _("%(site_name)s在%(day)s已有场次") % {"site_name": site.name, "day": format(day, "%Y-%m-%d")},
            field="day",
            code=SitesErrorCode.SESSION_EXISTS,
        ) from None
    session_planned.send(sender=Session, session=session, slots=specs)
    audit_record(
        actor=actor,
        action="sites.session_plan",
        obj=session,
        new={
            "site": site.code,
            "day": day.isoformat(),
            "desks": desks,
            "slots": len(specs),
            "capacity": sum(spec.capacity for spec in specs),
            "venue": where["venue_kind"],
            "venue_village": where["venue_village"].code if where["venue_village"] else None,
            "venue_employer": where["venue_employer"].code if where["venue_employer"] else None,
            "venue_address": where["venue_address"],
        },
    )
    return session


@transaction.atomic
def readiness_confirm(*, actor, session: Session, item: str, note: str = "") -> ReadinessCheck:
    """Record who confirmed one "四有" item for the session (once per item)."""
    if item not in ReadinessItem.values:
        raise ValidationFailed(
            _("未知的准备项目：%(item)s") % {"item": item},
            field="item",
            code=SitesErrorCode.READINESS_ITEM_UNKNOWN,
        )
    if _user(actor) is None:
        raise ValidationFailed(
            _("须由登录的工作人员确认"), field="item", code=SitesErrorCode.READINESS_ACTOR_REQUIRED
        )
    try:
        with transaction.atomic():
            check = ReadinessCheck.objects.create(
                session=session, item=item, confirmed_by=actor, confirmed_at=clock.now(), note=note[:200]
            )
    except IntegrityError:
        raise ValidationFailed(
            _("“%(label)s”已确认") % {"label": ReadinessItem(item).label},
            field="item",
            code=SitesErrorCode.READINESS_ALREADY_CONFIRMED,
        ) from None
    audit_record(actor=actor, action="sites.readiness_confirm", obj=session, new={"item": item, "note": note})
    return check


def _certificates(staff: StaffMember) -> list[domain.Certificate]:
    return [
        domain.Certificate(kind=c.kind, number=c.number, valid_from=c.valid_from, valid_to=c.valid_to)
        for c in Certificate.objects.filter(staff=staff)
    ]


@transaction.atomic
def assignment_add(
    *, actor, session: Session, staff: StaffMember, desk: Desk | None, role: str
) -> Assignment:
    """Put a staff member at a desk for the session: the role must be one of theirs and match the desk,
    and they must hold the certificates the role needs that day (a vaccinator without a valid training
    certificate cannot be put at a vaccination desk). Medical rescue staff are put on duty for the site
    with ``desk=None`` (trained as well)."""
    if desk is not None and desk.site_id != session.site_id:
        raise ValidationFailed(_("工作台不属于该接种单位"), field="desk", code=SitesErrorCode.DESK_OTHER_SITE)
    if role not in (staff.roles or []):
        raise ValidationFailed(
            _("%(staff_name)s未登记为%(role)s岗位")
            % {"staff_name": staff.name, "role": domain.StaffRole(role).label_zh},
            field="role",
            code=SitesErrorCode.STAFF_ROLE_MISSING,
        )
    ok, why = domain.may_assign(
        role,
        desk.kind if desk else None,
        _certificates(staff),
        session.day,
        also=(desk.also or ()) if desk else (),
    )
    if not ok:
        raise ValidationFailed(
            _("%(staff_name)s：%(why)s") % {"staff_name": staff.name, "why": why},
            field="staff",
            code=SitesErrorCode.STAFF_UNQUALIFIED,
        )
    try:
        with transaction.atomic():
            a = Assignment.objects.create(session=session, staff=staff, desk=desk, role=role)
    except IntegrityError:
        raise ValidationFailed(
            _("%(staff_name)s本场次已有排班") % {"staff_name": staff.name},
            field="staff",
            code=SitesErrorCode.STAFF_ALREADY_ASSIGNED,
        ) from None
    audit_record(
        actor=actor,
        action="sites.assignment_add",
        obj=a,
        new={"session": session.pk, "staff": staff.pk, "desk": str(desk) if desk else None, "role": role},
    )
    return a


def session_open_check(session: Session) -> tuple[bool, str]:
    readiness = {c.item: c.confirmed_by.username for c in session.readiness.select_related("confirmed_by")}
    # Each assignment staffs its role's step (on a combined desk, the step the person does there); medical
    # rescue staff, on duty for the site at no desk, staff none.
    staffed = [
        kind for a in session.assignments.all() if (kind := domain.DESK_FOR_ROLE[domain.StaffRole(a.role)])
    ]
    more: list[str] = []
    for _receiver, problems in session_readiness_asked.send(sender=Session, session=session):
        more.extend(problems or ())
    return domain.session_may_open(
        readiness=readiness, designated_hospital=session.site.hospital_name, staffed_desks=staffed, more=more
    )


@transaction.atomic
def session_open(*, actor, session: Session) -> Session:
    """Open the session: only with the "四有" confirmed, a designated hospital and every desk staffed."""
    s = Session.objects.select_for_update().select_related("site").get(pk=session.pk)
    if s.status != SessionStatus.PLANNED:
        raise ValidationFailed(
            _("场次当前为“%(status)s”，不能开诊") % {"status": s.get_status_display()},
            field="status",
            code=SitesErrorCode.SESSION_NOT_PLANNED,
        )
    ok, why = session_open_check(s)
    if not ok:
        raise ValidationFailed(why, field="status", code=SitesErrorCode.SESSION_NOT_READY)
    Session.objects.filter(pk=s.pk).update(
        status=SessionStatus.OPEN, opened_at=clock.now(), opened_by=_user(actor)
    )
    s.refresh_from_db()
    audit_record(
        actor=actor, action="sites.session_open", obj=s, old={"status": "planned"}, new={"status": "open"}
    )
    return s


@transaction.atomic
def session_close(*, actor, session: Session) -> Session:
    changed = (
        Session.objects.filter(pk=session.pk)
        .exclude(status=SessionStatus.CLOSED)
        .update(status=SessionStatus.CLOSED)
    )
    if not changed:
        raise ValidationFailed(_("场次已结束"), field="status", code=SitesErrorCode.SESSION_CLOSED)
    session.refresh_from_db()
    audit_record(actor=actor, action="sites.session_close", obj=session, new={"status": "closed"})
    return session


@transaction.atomic
def certificate_issue(
    *,
    actor,
    staff: StaffMember,
    kind: str,
    number: str,
    valid_from: dt.date,
    valid_to: dt.date | None,
    issuer: str = "",
) -> Certificate:
    """Record a certificate a staff member has earned (a training course's pass issues the 培训合格证
    through here, so nobody retypes it); the staff member may be assigned from ``valid_from``."""
    try:
        domain.Certificate(kind=kind, number=number, valid_from=valid_from, valid_to=valid_to)
    except ValueError as e:
        raise ValidationFailed(
            _("%(staff_name)s：%(error)s") % {"staff_name": staff.name, "error": e},
            field="number",
            code=SitesErrorCode.CERTIFICATE_INVALID,
        ) from None
    cert = Certificate.objects.create(
        staff=staff, kind=kind, number=number, valid_from=valid_from, valid_to=valid_to, issuer=issuer[:100]
    )
    audit_record(
        actor=actor,
        action="sites.certificate_issue",
        obj=cert,
        new={
            "staff": staff.pk,
            "kind": kind,
            "number": number,
            "valid_from": valid_from.isoformat(),
            "valid_to": valid_to.isoformat() if valid_to else None,
            "issuer": issuer,
        },
    )
    return cert

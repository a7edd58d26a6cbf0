"""Writes of field operations: training courses, classes, attendance and exams (passing issues the
certificate through ``sites.services.certificate_issue``), and a mobile team's stock out and back
(through supply's dispatch services, so the ledger records both legs)."""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from vaxops.audit.services import audit_record
from vaxops.campaign.selectors import LABELS as CATEGORY_LABELS
from vaxops.campaign.selectors import LIST_CATEGORIES, mobilisation_list
from vaxops.core import clock
from vaxops.core.errors import PermissionDenied, ValidationFailed
from vaxops.jurisdictions.models import Division, Level
from vaxops.registry import services as registry_services
from vaxops.registry.domain import mask_name
from vaxops.registry.models import VillageGroup
from vaxops.sites import services as site_services
from vaxops.sites.models import CertificateKind, Session, SiteKind, StaffMember
from vaxops.supply import services as supply_services
from vaxops.supply.models import CodeState, ColdChainUnit, TraceCode

from . import domain
from .errors import FieldErrorCode
from .models import (
    Attitude,
    Contact,
    Course,
    CourseSession,
    FollowUp,
    FollowUpEntry,
    FollowUpList,
    TeamTrip,
    Trainee,
    TraineeStatus,
)


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _within(division: Division, code: str) -> bool:
    low, high = division.code_range
    return low <= code <= high


# --------------------------------------------------------------------------------------------------
# Training (培训): courses, classes, attendance, exams
# --------------------------------------------------------------------------------------------------


@transaction.atomic
def course_create(
    *,
    actor,
    code: str,
    title: str,
    division: Division,
    syllabus,
    deadline: dt.date,
    pass_score: Decimal = Decimal(80),
    certificate_months: int = 12,
    issuer: str = "",
) -> Course:
    """A course of the county (for the townships' staff) or of a township (for its sites' staff); the
    level follows the organiser's division."""
    if division.level == Level.COUNTY:
        level = domain.CourseLevel.COUNTY
    elif division.level == Level.TOWNSHIP:
        level = domain.CourseLevel.TOWNSHIP
    else:
        raise ValidationFailed(
            _("培训由县或乡镇组织：%(name)s不能组织培训") % {"name": division.name},
            field="division",
            code=FieldErrorCode.COURSE_INVALID,
        )
    if getattr(actor, "division_id", None) and not _within(actor.division, division.code):
        raise PermissionDenied(
            _("不能为辖区以外的%(name)s组织培训") % {"name": division.name},
            code=FieldErrorCode.COURSE_OUT_OF_SCOPE,
        )
    try:
        topics = domain.syllabus_checked(syllabus)
    except ValueError as e:
        raise ValidationFailed(str(e), field="syllabus", code=FieldErrorCode.COURSE_INVALID) from None
    if not code.strip() or not title.strip():
        raise ValidationFailed(_("请填写课程编号和名称"), field="code", code=FieldErrorCode.COURSE_INVALID)
    if not (0 <= pass_score <= 100) or certificate_months < 1:
        raise ValidationFailed(
            _("合格分须在0—100之间，证书有效期至少1个月"),
            field="pass_score",
            code=FieldErrorCode.COURSE_INVALID,
        )
    try:
        with transaction.atomic():
            course = Course.objects.create(
                code=code.strip(),
                title=title.strip(),
                level=level,
                division=division,
                syllabus=list(topics),
                deadline=deadline,
                pass_score=pass_score,
                certificate_months=certificate_months,
                issuer=(issuer or f"{division.name}新冠疫苗接种工作领导小组")[:100],
                created_at=clock.now(),
                created_by=_user(actor),
            )
    except IntegrityError:
        raise ValidationFailed(
            _("课程编号%(code)s已存在") % {"code": code}, field="code", code=FieldErrorCode.COURSE_INVALID
        ) from None
    audit_record(
        actor=actor,
        action="field.course_create",
        obj=course,
        new={
            "code": course.code,
            "level": level.value,
            "division": division.code,
            "syllabus": list(topics),
            "deadline": deadline.isoformat(),
            "pass_score": str(pass_score),
        },
    )
    return course


def _staff_township(staff: StaffMember) -> str:
    return staff.site.division.code[:9]


@transaction.atomic
def trainee_enrol(*, actor, course: Course, staff: StaffMember) -> Trainee:
    """Put a staff member on a course: a county course takes staff anywhere in the county, a township
    course only its own sites' staff."""
    if not _within(course.division, staff.site.division.code):
        raise ValidationFailed(
            _("%(staff_name)s不在%(division)s辖区内，不能参加本课程")
            % {"staff_name": staff.name, "division": course.division.name},
            field="staff",
            code=FieldErrorCode.TRAINEE_OUT_OF_SCOPE,
        )
    Course.objects.select_for_update().filter(pk=course.pk).first()
    seq = (Trainee.objects.filter(course=course).aggregate(m=Max("seq"))["m"] or 0) + 1
    try:
        with transaction.atomic():
            t = Trainee.objects.create(course=course, staff=staff, seq=seq)
    except IntegrityError:
        raise ValidationFailed(
            _("%(staff_name)s已报名本课程") % {"staff_name": staff.name},
            field="staff",
            code=FieldErrorCode.TRAINEE_ALREADY_ENROLLED,
        ) from None
    audit_record(
        actor=actor, action="field.trainee_enrol", obj=t, new={"course": course.code, "staff": staff.pk}
    )
    return t


@transaction.atomic
def class_record(*, actor, course: Course, day: dt.date, place: str, topics, present) -> CourseSession:
    """A class held: its day, place and topics, and which trainees attended (``present``: trainee ids)."""
    try:
        taught = domain.syllabus_checked(topics)
    except ValueError as e:
        raise ValidationFailed(str(e), field="topics", code=FieldErrorCode.COURSE_INVALID) from None
    outside = [t for t in taught if t not in course.syllabus]
    if outside:
        raise ValidationFailed(
            _("“%(topic)s”不在本课程的培训内容中") % {"topic": outside[0]},
            field="topics",
            code=FieldErrorCode.COURSE_INVALID,
        )
    cs = CourseSession.objects.create(course=course, day=day, place=place.strip()[:100], topics=list(taught))
    ids = {int(i) for i in present}
    trainees = list(Trainee.objects.filter(course=course, pk__in=ids))
    if len(trainees) != len(ids):
        raise ValidationFailed(
            _("出勤名单中有非本课程学员"), field="present", code=FieldErrorCode.COURSE_INVALID
        )
    cs.present.set(trainees)
    audit_record(
        actor=actor,
        action="field.class_record",
        obj=cs,
        new={"course": course.code, "day": day.isoformat(), "topics": list(taught), "present": sorted(ids)},
    )
    return cs


@transaction.atomic
def exam_record(*, actor, trainee: Trainee, score, on: dt.date | None = None) -> Trainee:
    """The trainee's exam score. Passing (every class attended, the pass mark reached) issues the 培训合格证
    at once — valid from the exam's day for the course's months — so the person can be assigned to a desk
    right away. A pass is final; a failed trainee may sit again."""
    t = (
        Trainee.objects.select_for_update()
        .select_related("course", "staff__site__division")
        .get(pk=trainee.pk)
    )
    course = t.course
    if t.status == TraineeStatus.PASSED:
        raise ValidationFailed(
            _("%(staff_name)s已考核合格") % {"staff_name": t.staff.name},
            field="score",
            code=FieldErrorCode.EXAM_ALREADY_PASSED,
        )
    try:
        value = Decimal(str(score).strip())
    except InvalidOperation:
        value = Decimal("NaN")
    on = on or clock.today()
    held = list(course.sessions.filter(day__lte=on).values_list("pk", flat=True))
    attended = list(t.attended.values_list("pk", flat=True))
    try:
        passed, why = domain.exam_outcome(
            score=value, pass_score=course.pass_score, attended=attended, held=held
        )
    except ValueError as e:
        code = (
            FieldErrorCode.EXAM_SCORE_INVALID if "成绩" in str(e) else FieldErrorCode.EXAM_ATTENDANCE_MISSING
        )
        raise ValidationFailed(
            _("%(staff_name)s：%(error)s") % {"staff_name": t.staff.name, "error": e},
            field="score",
            code=code,
        ) from None
    old = {"status": t.status, "score": str(t.score) if t.score is not None else None}
    t.score = value
    t.examined_on = on
    t.status = TraineeStatus.PASSED if passed else TraineeStatus.FAILED
    if passed:
        valid_to = _add_months(on, course.certificate_months) - dt.timedelta(days=1)
        t.certificate = site_services.certificate_issue(
            actor=actor,
            staff=t.staff,
            kind=CertificateKind.TRAINING,
            number=domain.certificate_number(course_code=course.code, seq=t.seq),
            valid_from=on,
            valid_to=valid_to,
            issuer=course.issuer,
        )
    t.save(update_fields=["score", "examined_on", "status", "certificate"])
    audit_record(
        actor=actor,
        action="field.exam_record",
        obj=t,
        old=old,
        new={
            "status": t.status,
            "score": str(value),
            "reason": why,
            "certificate": t.certificate.number if t.certificate else None,
        },
    )
    return t


def _add_months(day: dt.date, months: int) -> dt.date:
    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------------------------------
# Mobile teams (流动接种队): the stock carried out to a session and back
# --------------------------------------------------------------------------------------------------


def _team_places(session: Session):
    site = session.site
    if site.kind not in (SiteKind.MOBILE, SiteKind.TEMPORARY):
        raise ValidationFailed(
            _("%(site)s不是流动接种队或临时接种点") % {"site": site.name}, code=FieldErrorCode.TEAM_NOT_MOBILE
        )
    place = site.stock_place
    if place is None or place.parent_id is None:
        raise ValidationFailed(
            _("%(site)s没有库存地点或上级库存地点，不能携带疫苗") % {"site": site.name},
            code=FieldErrorCode.TEAM_NO_PLACE,
        )
    return place, place.parent


@transaction.atomic
def team_stock_out(*, actor, session: Session, product, doses: int, cold_box: ColdChainUnit) -> TeamTrip:
    """The team takes ``doses`` of ``product`` in ``cold_box`` (a unit of the team's own stock place): a
    dispatch from the home store (first expiry first out), received at once into the cold box."""
    place, home = _team_places(session)
    dispatch = supply_services.dispatch_create(
        actor=actor,
        from_place=home,
        to_place=place,
        product=product,
        doses=doses,
        note=f"流动接种：{session.site.name} {session.day:%Y-%m-%d} {session.venue_label}"[:200],
    )
    supply_services.dispatch_receive(actor=actor, dispatch=dispatch, unit=cold_box)
    trip = TeamTrip.objects.create(session=session, cold_box=cold_box, product=product, out=dispatch)
    audit_record(
        actor=actor,
        action="field.team_stock_out",
        obj=trip,
        new={
            "session": session.pk,
            "dispatch": dispatch.number,
            "doses": dispatch.doses,
            "cold_box": cold_box.pk,
        },
    )
    return trip


def trip_remaining(trip: TeamTrip) -> int:
    """Doses of the trip's product still on hand at the team's place."""
    codes = TraceCode.objects.filter(
        place=trip.session.site.stock_place, state=CodeState.IN_STOCK, lot__product=trip.product
    ).count()
    return codes * trip.product.doses_per_vial


@transaction.atomic
def team_stock_back(*, actor, trip: TeamTrip) -> TeamTrip:
    """What is left of the trip's product goes back to the home store: a dispatch from the team's place,
    received at home. Refuses a trip already returned or with nothing left."""
    t = (
        TeamTrip.objects.select_for_update(of=("self",))
        .select_related("session__site__stock_place", "product")
        .get(pk=trip.pk)
    )
    place, home = _team_places(t.session)
    left = trip_remaining(t)
    if t.back_id is not None or left <= 0:
        raise ValidationFailed(
            _("%(site)s没有需要带回的%(product)s")
            % {"site": t.session.site.name, "product": t.product.name_zh},
            code=FieldErrorCode.TEAM_NOTHING_TO_RETURN,
        )
    dispatch = supply_services.dispatch_create(
        actor=actor,
        from_place=place,
        to_place=home,
        product=t.product,
        doses=left,
        note=f"流动接种返回：{t.session.site.name} {t.session.day:%Y-%m-%d}"[:200],
    )
    supply_services.dispatch_receive(actor=actor, dispatch=dispatch)
    t.back = dispatch
    t.save(update_fields=["back"])
    audit_record(
        actor=actor,
        action="field.team_stock_back",
        obj=t,
        new={"dispatch": dispatch.number, "doses": dispatch.doses},
    )
    return t


# --------------------------------------------------------------------------------------------------
# The grid (网格化): mobilisation lists handed to a group's head, and the head's follow-ups
# --------------------------------------------------------------------------------------------------


def group_and_below(group: VillageGroup) -> list[int]:
    """The group's id and those of every group nested in it (一级套一级)."""
    ids, frontier = [group.pk], [group.pk]
    while frontier:
        frontier = list(VillageGroup.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        ids.extend(frontier)
    return ids


@transaction.atomic
def followup_list_assign(
    *, actor, group: VillageGroup, category: str, on: dt.date | None = None
) -> FollowUpList:
    """Hand a mobilisation list to the group's head: the group's people (and its nested groups') on the
    ``category`` list today, as the actor sees them. The head must have a log-in."""
    on = on or clock.today()
    if category not in [c.value for c in LIST_CATEGORIES]:
        raise ValidationFailed(
            _("未知的动员名单：%(c)s") % {"c": category},
            field="category",
            code=FieldErrorCode.FOLLOWUP_INVALID,
        )
    if group.head_id is None:
        raise ValidationFailed(
            _("“%(group)s”的负责人没有系统账号，不能下发名单") % {"group": group.name},
            field="group",
            code=FieldErrorCode.FOLLOWUP_INVALID,
        )
    people = list(
        mobilisation_list(user=actor, category=category, on=on, village_code=group.village.code)
        .filter(group_id__in=group_and_below(group))
        .values_list("pk", flat=True)
    )
    fl = FollowUpList.objects.create(
        group=group,
        head_id=group.head_id,
        category=category,
        title=f"{group.name} · {CATEGORY_LABELS[category]} · {on:%Y-%m-%d}"[:100],
        created_at=clock.now(),
        created_by=_user(actor),
    )
    FollowUpEntry.objects.bulk_create([FollowUpEntry(followup_list=fl, resident_id=pk) for pk in people])
    audit_record(
        actor=actor,
        action="field.followup_list_assign",
        obj=fl,
        new={"group": group.pk, "head": group.head_id, "category": category, "people": len(people)},
    )
    return fl


@transaction.atomic
def followup_record(
    *, actor, entry: FollowUpEntry, contact: str, attitude: str = "", reason: str = "", booked: bool = False
) -> FollowUp:
    """One follow-up of a person on a list by its head (or a worker of the village): the willingness said
    goes to the registry with its history; 犹豫 or 拒绝 needs the reason."""
    e = FollowUpEntry.objects.select_for_update().select_related("followup_list", "resident").get(pk=entry.pk)
    if contact not in Contact.values:
        raise ValidationFailed(_("请选择随访方式"), field="contact", code=FieldErrorCode.FOLLOWUP_INVALID)
    if attitude and attitude not in Attitude.values:
        raise ValidationFailed(_("请选择接种意愿"), field="attitude", code=FieldErrorCode.FOLLOWUP_INVALID)
    if contact == Contact.UNREACHED and (attitude or booked):
        raise ValidationFailed(
            _("未联系上时不能登记意愿或预约"), field="contact", code=FieldErrorCode.FOLLOWUP_INVALID
        )
    reason = reason.strip()[:200]
    if attitude in (Attitude.HESITANT, Attitude.REFUSED) and not reason:
        raise ValidationFailed(
            _("%(name)s：选择“%(a)s”须填写原因")
            % {"name": mask_name(e.resident.name), "a": Attitude(attitude).label},
            field="reason",
            code=FieldErrorCode.FOLLOWUP_INVALID,
        )
    now = clock.now()
    f = FollowUp.objects.create(
        entry=e, at=now, by=actor, contact=contact, attitude=attitude, reason=reason, booked=booked
    )
    if attitude:
        registry_services.resident_willingness_set(
            actor=actor, resident=e.resident, willingness=attitude, reason=reason, source="followup"
        )
    FollowUpEntry.objects.filter(pk=e.pk).update(last_at=now, booked=e.booked or booked)
    audit_record(
        actor=actor,
        action="field.followup_record",
        obj=f,
        new={
            "entry": e.pk,
            "resident": e.resident_id,
            "contact": contact,
            "attitude": attitude,
            "reason": reason,
            "booked": booked,
        },
    )
    return f

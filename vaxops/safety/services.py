"""Writes of vaccine safety: hospitals and pairing, reports of suspected AEFI (from every door), referral and
the hospital's case, investigation and the panel's classification, lot holds (through supply's lot status),
the clocks' escalation, MaxSPRT signals and claims. Keyword-only, atomic, audited."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxops.audit.services import audit_record
from vaxops.clinic.models import Dose, ReactionNote
from vaxops.core import clock
from vaxops.core.errors import CoreErrorCode, NotFound, PermissionDenied, ValidationFailed
from vaxops.notify.services import notification_queue
from vaxops.sites import services as site_services
from vaxops.sites.models import Assignment, Session, Site, StaffMember
from vaxops.supply import services as supply_services
from vaxops.supply.models import Lot, StockBalance

from . import domain
from .errors import SafetyErrorCode as E
from .models import (
    AdverseEventReport,
    AmbulanceCover,
    BackgroundRate,
    Claim,
    ClockAlert,
    DoseTallyMark,
    Expert,
    Hospital,
    HospitalCase,
    LotHold,
    Outcome,
    PanelDecision,
    SafetySignal,
    SitePairing,
    TreatmentEntry,
)
from .signals import report_changed

MAX_TEXT = 2000


def _report_changed(report: AdverseEventReport) -> None:
    """Tell the apps above (exchange: the report goes out as an ``AdverseEvent``), in the caller's
    transaction."""
    report_changed.send(sender=AdverseEventReport, report=report, at=clock.now())


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _require(actor, *perms: str) -> None:
    if not any(actor.has_perm(p) for p in perms):
        raise PermissionDenied(_("您的角色无权办理此项"), code=CoreErrorCode.ROLE_FORBIDDEN)


def _text(value: str | None, limit: int = MAX_TEXT) -> str:
    return (value or "").strip()[:limit]


def policy() -> dict:
    """The county's safety policy (settings ``VAXOPS_SAFETY``): cluster window and thresholds, automatic
    holds, the MaxSPRT parameters, and the phones told when a clock runs out."""
    base = {
        "cluster_window_days": 7,
        "cluster_min_serious": 2,
        "cluster_min_any": 5,
        "auto_hold": False,
        "maxsprt_T": 20.0,
        "maxsprt_M": 4,
        "maxsprt_alpha": 0.05,
        "duty_phones": [],
    }
    base.update(getattr(settings, "VAXOPS_SAFETY", {}) or {})
    return base


def cluster_policy() -> domain.ClusterPolicy:
    p = policy()
    return domain.ClusterPolicy(
        window=dt.timedelta(days=p["cluster_window_days"]),
        min_serious=p["cluster_min_serious"],
        min_any=p["cluster_min_any"],
    )


# ------------------------------------------------------------------------------ hospitals and pairing


@transaction.atomic
def hospital_register(
    *,
    actor,
    name: str,
    level: str,
    designated_severe: bool,
    phone: str,
    beds_held: int,
    reporter_name: str,
    reporter_phone: str = "",
    division,
) -> Hospital:
    _require(actor, "safety.add_hospital")
    if level not in Hospital.Level.values:
        raise ValidationFailed(_("医院等级须为二级或三级"), field="level", code=E.HOSPITAL_NOT_FOUND)
    if not _text(reporter_name):
        raise ValidationFailed(_("请填写医院的报告人"), field="reporter_name", code=E.REPORTER_MISSING)
    h, _created = Hospital.objects.update_or_create(
        name=_text(name, 100),
        defaults={
            "level": level,
            "designated_severe": designated_severe,
            "phone": _text(phone, 40),
            "beds_held": max(0, int(beds_held)),
            "reporter_name": _text(reporter_name, 50),
            "reporter_phone": _text(reporter_phone, 40),
            "division": division,
        },
    )
    audit_record(
        actor=actor,
        action="safety.hospital_register",
        obj=h,
        new={"name": h.name, "level": level, "severe": designated_severe, "beds": h.beds_held},
    )
    return h


@transaction.atomic
def site_pair(*, actor, site: Site, hospital: Hospital) -> SitePairing:
    """Pair a site with its hospital (医共体). The site's legacy hospital name and phone (read by the session's
    "四有" check and the desk) are kept equal to the pairing's."""
    _require(actor, "safety.add_sitepairing", "safety.change_sitepairing")
    old = SitePairing.objects.filter(site=site).values_list("hospital__name", flat=True).first()
    pairing, _created = SitePairing.objects.update_or_create(site=site, defaults={"hospital": hospital})
    Site.objects.filter(pk=site.pk).update(hospital_name=hospital.name, hospital_phone=hospital.phone)
    audit_record(
        actor=actor,
        action="safety.site_pair",
        obj=pairing,
        old={"hospital": old},
        new={"hospital": hospital.name},
    )
    return pairing


def hospital_for(*, site: Site | None, severe: bool) -> Hospital | None:
    """Where a person from ``site`` goes: the paired hospital, or for a severe case the county's designated
    severe-case hospital (the paired one when it is designated)."""
    paired = None
    if site is not None:
        paired = Hospital.objects.filter(sites__site=site, active=True).first()
    if severe and not (paired and paired.designated_severe):
        qs = Hospital.objects.filter(active=True, designated_severe=True)
        if paired is not None:
            qs = qs.filter(division=paired.division)
        designated = qs.order_by("-level", "name").first()
        if designated is not None:
            return designated
    return paired


# ------------------------------------------------------------------------- on-site cover ("四有")


def paired_hospital(site: Site) -> Hospital | None:
    """The site's paired hospital (医共体), active or not; ``None`` for a site not paired yet."""
    return Hospital.objects.filter(sites__site=site).first()


@transaction.atomic
def hospital_rescue_staff_add(*, actor, hospital: Hospital, staff: StaffMember) -> Hospital:
    """Register one of the hospital's doctors or nurses as its on-site rescue staff (派驻对口接种单位值守的医疗
    救治人员): the member must hold the rescue role (the training certificate is checked when they are put on
    duty, on the session's day). Registering them again changes nothing; audited once."""
    _require(actor, "safety.change_hospital")
    if "rescue" not in (staff.roles or []):
        raise ValidationFailed(
            _("%(staff)s未登记为医疗救治岗位") % {"staff": staff.name},
            field="staff",
            code=E.RESCUE_ROLE_MISSING,
        )
    if not hospital.rescue_staff.filter(pk=staff.pk).exists():
        hospital.rescue_staff.add(staff)
        audit_record(
            actor=actor,
            action="safety.rescue_staff_add",
            obj=hospital,
            new={"staff": staff.name, "site": staff.site_id},
        )
    return hospital


@transaction.atomic
def rescue_duty_add(*, actor, session: Session, staff: StaffMember) -> Assignment:
    """Put one of the paired hospital's rescue staff on duty for the session (a site-wide assignment with
    no desk, role 医疗救治; sites checks the training certificate on the session's day)."""
    hospital = paired_hospital(session.site)
    if hospital is None:
        raise ValidationFailed(
            _("接种单位“%(site)s”尚未对口定点救治医院") % {"site": session.site.name},
            field="site",
            code=E.NO_PAIRED_HOSPITAL,
        )
    if not hospital.rescue_staff.filter(pk=staff.pk).exists():
        raise ValidationFailed(
            _("%(staff)s不是对口医院“%(hospital)s”登记的现场救治人员")
            % {"staff": staff.name, "hospital": hospital.name},
            field="staff",
            code=E.RESCUE_NOT_FROM_HOSPITAL,
        )
    return site_services.assignment_add(actor=actor, session=session, staff=staff, desk=None, role="rescue")


@transaction.atomic
def ambulance_cover_set(*, actor, session: Session, mode: str, phone: str, plate: str = "") -> AmbulanceCover:
    """Record the ambulance covering the session: on site (现场驻守) or on rounds (巡回待命), with its phone.
    Setting it again replaces it (idempotent for the same values); audited."""
    if mode not in AmbulanceCover.Mode.values:
        raise ValidationFailed(
            _("救护车保障方式须为现场驻守或巡回待命：%(mode)s") % {"mode": mode},
            field="mode",
            code=E.AMBULANCE_MODE_UNKNOWN,
        )
    phone = _text(phone, 40)
    if not phone:
        raise ValidationFailed(_("请填写救护车电话"), field="phone", code=E.AMBULANCE_PHONE_MISSING)
    old = AmbulanceCover.objects.filter(session=session).values("mode", "phone", "plate").first()
    cover, _created = AmbulanceCover.objects.update_or_create(
        session=session,
        defaults={
            "mode": mode,
            "phone": phone,
            "plate": _text(plate, 20),
            "hospital": paired_hospital(session.site),
            "recorded_by": actor,
            "recorded_at": clock.now(),
        },
    )
    audit_record(
        actor=actor,
        action="safety.ambulance_cover_set",
        obj=session,
        old=old,
        new={"mode": mode, "phone": phone, "plate": cover.plate},
    )
    return cover


def cover_problems(session: Session) -> list[str]:
    """What keeps the session from opening on safety's side (asked through ``sites.signals.
    session_readiness_asked``): for a site paired with a hospital, at least one of that hospital's rescue
    staff on duty and the ambulance with its phone. A site not paired yet keeps the legacy check (a
    hospital's name) in sites."""
    hospital = paired_hospital(session.site)
    if hospital is None:
        return []
    problems: list[str] = []
    on_duty = Assignment.objects.filter(
        session=session, role="rescue", staff__in=hospital.rescue_staff.all(), staff__active=True
    ).exists()
    if not on_duty:
        problems.append(_("无对口医院“%(hospital)s”的医疗救治人员在岗值守") % {"hospital": hospital.name})
    if not AmbulanceCover.objects.filter(session=session).exclude(phone="").exists():
        problems.append(_("未登记救护车（现场驻守或巡回待命）及其电话"))
    return problems


# ----------------------------------------------------------------------------------------- reports

_SPLIT = re.compile(r"[，,、;；\s]+")


def signs_parse(value) -> list[str]:
    """Signs from a list or a text ("发热、皮疹"), stripped, without repeats, at most 20 of 40 characters."""
    items = value if isinstance(value, list | tuple) else _SPLIT.split(str(value or ""))
    out: list[str] = []
    for s in items:
        s = str(s).strip()[:40]
        if s and s not in out:
            out.append(s)
    return out[:20]


def signs_from_text(text: str) -> list[str]:
    """The known signs named in a free-text description (the observation nurse's note)."""
    return [s for s in domain.SIGN_GROUPS if s in (text or "")]


def _number(now: dt.datetime) -> str:
    day = timezone.localtime(now).strftime("%Y%m%d")
    prefix = f"AEFI{day}"
    n = AdverseEventReport.objects.filter(number__startswith=prefix).count() + 1
    while AdverseEventReport.objects.filter(number=f"{prefix}{n:04d}").exists():
        n += 1
    return f"{prefix}{n:04d}"


def _criteria(values) -> list[str]:
    out = []
    for c in values or ():
        if c not in domain.Criterion.__members__.values():
            raise ValidationFailed(
                _("未知的严重性类别：%(c)s") % {"c": c}, field="criteria", code=E.CRITERION_UNKNOWN
            )
        if c not in out:
            out.append(str(c))
    return out


@transaction.atomic
def report_create(
    *,
    actor,
    dose: Dose,
    source: str,
    onset_at: dt.datetime,
    discovered_at: dt.datetime | None = None,
    signs,
    description: str = "",
    criteria=(),
    major_concern: bool = False,
    treatment: str = "",
    outcome: str = "unknown",
    reporter_name: str,
    reporter_unit: str = "",
    reporter_phone: str = "",
    reaction_note: ReactionNote | None = None,
) -> AdverseEventReport:
    """Record a suspected AEFI against a dose (from any door). Then look for clusters and propose lot holds."""
    if dose is None or dose.voided_at is not None:
        raise ValidationFailed(_("接种记录不存在或已作废"), field="dose", code=E.DOSE_VOIDED)
    if source not in AdverseEventReport.Source.values:
        raise ValidationFailed(_("未知的报告来源"), field="source", code=E.REPORTER_MISSING)
    sign_list = signs_parse(signs)
    if not sign_list:
        raise ValidationFailed(_("请填写主要临床表现"), field="signs", code=E.SIGNS_MISSING)
    crit = _criteria(criteria)
    if outcome not in AdverseEventReport.Outcome.values:
        raise ValidationFailed(_("未知的转归"), field="outcome", code=E.OUTCOME_UNKNOWN)
    if outcome == "death" and "death" not in crit:
        crit.append("death")
    now = clock.now()
    discovered_at = discovered_at or now
    given = dose.given_at or timezone.make_aware(dt.datetime.combine(dose.given_on, dt.time.min))
    if onset_at > now or onset_at < given - dt.timedelta(hours=1):
        raise ValidationFailed(_("发病时间须在接种之后、现在之前"), field="onset_at", code=E.ONSET_INVALID)
    if discovered_at > now or discovered_at < onset_at:
        raise ValidationFailed(
            _("发现时间须在发病之后、现在之前"), field="discovered_at", code=E.ONSET_INVALID
        )
    if not _text(reporter_name):
        raise ValidationFailed(_("请填写报告人"), field="reporter_name", code=E.REPORTER_MISSING)
    if reaction_note is not None and AdverseEventReport.objects.filter(reaction_note=reaction_note).exists():
        raise ValidationFailed(
            _("该留观异常反应记录已报告"), field="reaction_note", code=E.NOTE_ALREADY_REPORTED
        )
    serious = domain.is_serious(crit)
    report = AdverseEventReport.objects.create(
        number=_number(now),
        dose=dose,
        resident=dose.resident,
        village_code=dose.resident.village_code,
        site=dose.site,
        lot=dose.lot,
        product_code=dose.product_code,
        reaction_note=reaction_note,
        source=source,
        onset_at=onset_at,
        discovered_at=discovered_at,
        reported_at=now,
        signs=sign_list,
        description=_text(description),
        criteria=crit,
        serious=serious,
        major_concern=major_concern,
        treatment=_text(treatment),
        outcome=outcome,
        reporter_name=_text(reporter_name, 50),
        reporter_unit=_text(reporter_unit, 100),
        reporter_phone=_text(reporter_phone, 40),
        reported_by=_user(actor),
        county_notified_at=now,
        card_completed_at=now,
    )
    audit_record(
        actor=actor,
        action="safety.report_create",
        obj=report,
        new={
            "number": report.number,
            "dose": dose.pk,
            "source": source,
            "serious": serious,
            "criteria": crit,
            "lot": dose.lot_id,
            "site": dose.site_id,
        },
    )
    _report_changed(report)
    if serious and report.lot_id:
        lot_hold_propose(
            actor=actor,
            lot=report.lot,
            reports=[report],
            reason=_("严重疑似异常反应 %(n)s") % {"n": report.number},
        )
    clusters_check(actor=actor, report=report)
    return report


def report_from_note(
    *, actor, note: ReactionNote, signs=None, criteria=(), reporter_name: str = "", refer: bool = False
) -> AdverseEventReport:
    """The observation nurse's one step: the reaction note becomes a report (and, if asked, the person is
    referred to the paired hospital, a severe case to the designated one)."""
    _require(actor, "safety.add_adverseeventreport")
    with transaction.atomic():
        dose = note.observation.dose
        crit = list(criteria or ())
        if note.severity == ReactionNote.Severity.SEVERE and not crit:
            crit = ["other_medical"]
        report = report_create(
            actor=actor,
            dose=dose,
            source=AdverseEventReport.Source.OBSERVATION,
            onset_at=note.at,
            discovered_at=note.at,
            signs=signs_parse(signs) or signs_from_text(note.description) or [note.get_severity_display()],
            description=note.description,
            criteria=crit,
            treatment=note.description,
            reporter_name=reporter_name
            or (getattr(actor, "full_name", "") or getattr(actor, "username", "")),
            reporter_unit=dose.site.name if dose.site_id else "",
            reaction_note=note,
        )
        if refer:
            referral_make(actor=actor, report=report, severe=note.severity == ReactionNote.Severity.SEVERE)
        return report


@transaction.atomic
def referral_make(
    *, actor, report: AdverseEventReport, severe: bool | None = None, kind: str = "referral"
) -> HospitalCase:
    """Refer the person to the paired hospital (a severe case to the designated severe-case hospital)."""
    _require(actor, "safety.add_adverseeventreport", "safety.add_hospitalcase")
    severe = report.serious if severe is None else severe
    hospital = hospital_for(site=report.site, severe=severe)
    if hospital is None:
        raise ValidationFailed(
            _("该接种单位尚未对口定点救治医院，请县疾控先登记对口关系"),
            field="hospital",
            code=E.NO_PAIRED_HOSPITAL,
        )
    existing = (
        HospitalCase.objects.filter(report=report, hospital=hospital).exclude(state="discharged").first()
    )
    if existing is not None:
        return existing
    case = HospitalCase.objects.create(
        report=report, hospital=hospital, kind=kind, referred_at=clock.now(), referred_by=_user(actor)
    )
    AdverseEventReport.objects.filter(pk=report.pk).update(hospital=hospital)
    report.hospital = hospital
    if report.reaction_note_id:
        ReactionNote.objects.filter(pk=report.reaction_note_id).update(transferred=True)
    if hospital.reporter_phone:
        notification_queue(
            template="aefi_referral",
            phone=hospital.reporter_phone,
            text=_("【疫苗安全】%(site)s转诊疑似异常反应个案%(n)s至贵院，请接收救治")
            % {"site": report.site.name if report.site_id else "", "n": report.number},
            reference=f"aefi-referral:{case.pk}",
        )
    audit_record(
        actor=actor,
        action="safety.referral",
        obj=case,
        new={"report": report.number, "hospital": hospital.name, "severe": severe, "kind": kind},
    )
    return case


def _case_for(actor, case_id: int) -> HospitalCase:
    case = (
        HospitalCase.objects.select_for_update()
        .select_related("report", "hospital")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound(_("救治个案不存在"), code=E.HOSPITAL_CASE_NOT_FOUND)
    return case


@transaction.atomic
def hospital_case_admit(*, actor, case_id: int, doctor: str = "") -> HospitalCase:
    _require(actor, "safety.change_hospitalcase")
    case = _case_for(actor, case_id)
    if case.state != HospitalCase.State.REFERRED:
        raise ValidationFailed(_("该个案已接收"), field="state", code=E.HOSPITAL_CASE_STATE)
    case.state = HospitalCase.State.ADMITTED
    case.admitted_at = clock.now()
    case.doctor = _text(doctor, 50)
    case.save(update_fields=["state", "admitted_at", "doctor"])
    audit_record(actor=actor, action="safety.hospital_admit", obj=case, new={"doctor": case.doctor})
    return case


@transaction.atomic
def treatment_add(*, actor, case_id: int, note: str) -> TreatmentEntry:
    """One line of the 一人一案 treatment record."""
    _require(actor, "safety.change_hospitalcase")
    case = _case_for(actor, case_id)
    if case.state == HospitalCase.State.DISCHARGED:
        raise ValidationFailed(_("该个案已出院"), field="state", code=E.HOSPITAL_CASE_STATE)
    if len(_text(note)) < 2:
        raise ValidationFailed(_("请填写诊疗记录"), field="note", code=E.TREATMENT_MISSING)
    if case.state == HospitalCase.State.REFERRED:
        case.state = HospitalCase.State.ADMITTED
        case.admitted_at = clock.now()
        case.save(update_fields=["state", "admitted_at"])
    entry = TreatmentEntry.objects.create(case=case, at=clock.now(), note=_text(note), by=_user(actor))
    AdverseEventReport.objects.filter(pk=case.report_id).update(
        treatment=_text((case.report.treatment + "\n" + entry.note).strip())
    )
    audit_record(actor=actor, action="safety.treatment_add", obj=entry, new={"case": case.pk})
    return entry


@transaction.atomic
def hospital_case_discharge(*, actor, case_id: int, outcome: str) -> HospitalCase:
    _require(actor, "safety.change_hospitalcase")
    case = _case_for(actor, case_id)
    if case.state == HospitalCase.State.DISCHARGED:
        raise ValidationFailed(_("该个案已出院"), field="state", code=E.HOSPITAL_CASE_STATE)
    if outcome not in AdverseEventReport.Outcome.values:
        raise ValidationFailed(_("请选择转归"), field="outcome", code=E.OUTCOME_UNKNOWN)
    case.state = HospitalCase.State.DISCHARGED
    case.discharged_at = clock.now()
    case.outcome = outcome
    case.save(update_fields=["state", "discharged_at", "outcome"])
    report = case.report
    updates: dict = {"outcome": outcome}
    if outcome == "death" and "death" not in (report.criteria or []):
        updates.update(criteria=[*(report.criteria or []), "death"], serious=True)
    AdverseEventReport.objects.filter(pk=report.pk).update(**updates)
    report.refresh_from_db()
    _report_changed(report)
    audit_record(actor=actor, action="safety.hospital_discharge", obj=case, new={"outcome": outcome})
    return case


# --------------------------------------------------------------------------- investigation and panel


def _report_locked(report_id: int) -> AdverseEventReport:
    r = AdverseEventReport.objects.select_for_update().filter(pk=report_id).first()
    if r is None:
        raise NotFound(_("个案不存在"), code=E.REPORT_NOT_FOUND)
    return r


def _move(actor, report: AdverseEventReport, new: str, **fields) -> AdverseEventReport:
    if not domain.may_move(report.status, new):
        raise ValidationFailed(
            _("个案状态为“%(old)s”，不能改为“%(new)s”")
            % {"old": domain.Status(report.status).label_zh, "new": domain.Status(new).label_zh},
            field="status",
            code=E.STATUS_MOVE,
        )
    old = report.status
    n = AdverseEventReport.objects.filter(pk=report.pk, status=old).update(status=new, **fields)
    if n != 1:
        raise ValidationFailed(_("个案状态已被他人更改，请刷新"), field="status", code=E.STATUS_MOVE)
    report.refresh_from_db()
    audit_record(
        actor=actor,
        action=f"safety.report_{new}",
        obj=report,
        old={"status": old},
        new={"status": new, **{k: str(v) for k, v in fields.items()}},
    )
    _report_changed(report)
    return report


@transaction.atomic
def investigation_open(*, actor, report_id: int) -> AdverseEventReport:
    _require(actor, "safety.investigate_adverseeventreport")
    r = _report_locked(report_id)
    return _move(actor, r, "investigating", investigation_started_at=clock.now())


@transaction.atomic
def preliminary_report_file(*, actor, report_id: int) -> AdverseEventReport:
    _require(actor, "safety.investigate_adverseeventreport")
    r = _report_locked(report_id)
    if r.preliminary_report_at is None:
        AdverseEventReport.objects.filter(pk=r.pk).update(preliminary_report_at=clock.now())
        r.refresh_from_db()
        audit_record(
            actor=actor, action="safety.preliminary_report", obj=r, new={"at": str(r.preliminary_report_at)}
        )
    return r


@transaction.atomic
def panel_classify(
    *, actor, report_id: int, diagnosis: str, classification: str, reasoning: str, expert_ids: list[int]
) -> PanelDecision:
    """The expert panel's diagnosis and classification (named members, reasoning)."""
    _require(actor, "safety.classify_adverseeventreport")
    r = _report_locked(report_id)
    try:
        cls = domain.Classification(classification)
    except ValueError:
        raise ValidationFailed(
            _("请选择分类"), field="classification", code=E.CLASSIFICATION_UNKNOWN
        ) from None
    if len(_text(diagnosis)) < 2:
        raise ValidationFailed(_("请填写诊断"), field="diagnosis", code=E.DIAGNOSIS_MISSING)
    if len(_text(reasoning)) < 2:
        raise ValidationFailed(_("请填写诊断依据"), field="reasoning", code=E.DIAGNOSIS_MISSING)
    experts = list(Expert.objects.filter(pk__in=expert_ids or [], active=True))
    if len(experts) < 3:
        raise ValidationFailed(
            _("专家组诊断须至少3名在任专家署名"), field="experts", code=E.PANEL_MEMBERS_MISSING
        )
    now = clock.now()
    decision = PanelDecision.objects.create(
        report=r,
        at=now,
        diagnosis=_text(diagnosis),
        classification=cls.value,
        reasoning=_text(reasoning),
        recorded_by=_user(actor),
    )
    decision.members.set(experts)
    if r.status in ("reported", "investigating"):
        _move(actor, r, "classified", classification=cls.value, classified_at=now)
    else:
        AdverseEventReport.objects.filter(pk=r.pk).update(classification=cls.value, classified_at=now)
        r.refresh_from_db()
        _report_changed(r)
    audit_record(
        actor=actor,
        action="safety.panel_classify",
        obj=decision,
        new={"report": r.number, "classification": cls.value, "members": [e.name for e in experts]},
    )
    return decision


@transaction.atomic
def report_close(*, actor, report_id: int) -> AdverseEventReport:
    _require(actor, "safety.investigate_adverseeventreport")
    return _move(actor, _report_locked(report_id), "closed", closed_at=clock.now())


# ------------------------------------------------------------------------------- clusters and holds


def clusters_check(*, actor, report: AdverseEventReport) -> list[domain.Cluster]:
    """Look for clusters that include ``report`` (same site or lot, similar signs, within the window); mark their
    cases as a cluster and propose a hold of the lot(s)."""
    pol = cluster_policy()
    since = report.onset_at - pol.window
    until = report.onset_at + pol.window
    rows = AdverseEventReport.objects.filter(
        Q(site_id=report.site_id) | Q(lot_id=report.lot_id), onset_at__range=(since, until)
    ).values("id", "site_id", "lot_id", "onset_at", "signs", "serious")
    cases = [
        domain.CaseLite(
            r["id"],
            r["site_id"] or 0,
            r["lot_id"] or 0,
            r["onset_at"],
            frozenset(r["signs"] or ()),
            r["serious"],
        )
        for r in rows
    ]
    found = [c for c in domain.detect_clusters(cases, pol) if report.pk in c.case_ids]
    for cl in found:
        if cl.by == "lot" and cl.key == 0 or cl.by == "site" and cl.key == 0:
            continue
        ids = list(cl.case_ids)
        AdverseEventReport.objects.filter(pk__in=ids, cluster=False).update(cluster=True)
        lots = (
            [cl.key]
            if cl.by == "lot"
            else list(
                AdverseEventReport.objects.filter(pk__in=ids, lot__isnull=False)
                .values_list("lot_id", flat=True)
                .distinct()
            )
        )
        for lot in Lot.objects.filter(pk__in=lots):
            lot_hold_propose(
                actor=actor,
                lot=lot,
                reports=list(AdverseEventReport.objects.filter(pk__in=ids)),
                reason=_("群体性疑似异常反应（%(by)s，%(n)d例）")
                % {"by": "同一批号" if cl.by == "lot" else "同一接种单位", "n": len(ids)},
            )
    return found


@transaction.atomic
def lot_hold_propose(*, actor, lot: Lot, reports: list[AdverseEventReport], reason: str) -> LotHold:
    """Propose an immediate hold of ``lot`` (once: an open proposal or hold gathers the new cases). Under the
    county's policy ``auto_hold`` it is confirmed at once."""
    hold = LotHold.objects.select_for_update().filter(lot=lot, state__in=["proposed", "held"]).first()
    if hold is None:
        try:
            with transaction.atomic():
                hold = LotHold.objects.create(lot=lot, reason=_text(reason, 300), proposed_at=clock.now())
        except IntegrityError:
            hold = LotHold.objects.get(lot=lot, state__in=["proposed", "held"])
        else:
            audit_record(
                actor=actor,
                action="safety.lot_hold_propose",
                obj=hold,
                new={"lot": lot.lot_number, "reason": reason},
            )
    hold.reports.add(*reports)
    if hold.state == LotHold.State.PROPOSED and policy()["auto_hold"]:
        _hold_apply(actor, hold, automatic=True)
    return hold


def _sites_using(lot: Lot) -> list[Site]:
    places = StockBalance.objects.filter(lot=lot, doses__gt=0).values_list("place_id", flat=True)
    return list(Site.objects.filter(stock_place_id__in=list(places)).order_by("code"))


def _hold_apply(actor, hold: LotHold, *, automatic: bool = False) -> LotHold:
    lot = Lot.objects.get(pk=hold.lot_id)
    if lot.status == "released":
        supply_services.lot_status_change(
            actor=actor, lot=lot, status="on_hold", reason=_("疑似异常反应叫停：%(r)s") % {"r": hold.reason}
        )
    now = clock.now()
    LotHold.objects.filter(pk=hold.pk).update(state="held", confirmed_at=now, confirmed_by=_user(actor))
    hold.refresh_from_db()
    told = []
    for site in _sites_using(lot):
        told.append(site.name)
        for staff in StaffMember.objects.filter(site=site, active=True).exclude(phone=""):
            notification_queue(
                template="lot_hold",
                phone=staff.phone,
                text=_("【疫苗安全】批号%(lot)s已暂停使用（%(r)s），请立即停止使用并单独存放")
                % {"lot": lot.lot_number, "r": hold.reason[:60]},
                reference=f"lot-hold:{hold.pk}:{staff.pk}",
            )
    audit_record(
        actor=actor,
        action="safety.lot_hold_confirm",
        obj=hold,
        new={"lot": lot.lot_number, "automatic": automatic, "sites_told": told},
    )
    return hold


@transaction.atomic
def lot_hold_confirm(*, actor, hold_id: int) -> LotHold:
    """The county's one click: the lot goes on hold everywhere (supply's lot status; the scan refuses it from
    the next statement) and every site holding it is told."""
    _require(actor, "safety.change_lothold")
    hold = LotHold.objects.select_for_update().filter(pk=hold_id).first()
    if hold is None:
        raise NotFound(_("叫停建议不存在"), code=E.LOT_HOLD_NOT_FOUND)
    if hold.state != LotHold.State.PROPOSED:
        raise ValidationFailed(_("该批号已处理"), field="state", code=E.LOT_HOLD_STATE)
    return _hold_apply(actor, hold)


@transaction.atomic
def lot_hold_release(*, actor, hold_id: int, reason: str) -> LotHold:
    """Release a held lot: only once the panel has classified every case behind the hold, none a quality
    incident or undetermined."""
    _require(actor, "safety.change_lothold")
    hold = LotHold.objects.select_for_update().filter(pk=hold_id).first()
    if hold is None:
        raise NotFound(_("叫停记录不存在"), code=E.LOT_HOLD_NOT_FOUND)
    if hold.state not in (LotHold.State.HELD, LotHold.State.PROPOSED):
        raise ValidationFailed(_("该批号未处于暂停状态"), field="state", code=E.LOT_HOLD_STATE)
    pending = [
        r.number
        for r in hold.reports.all()
        if not r.classification
        or domain.Classification(r.classification) not in domain.RELEASING_CLASSIFICATIONS
    ]
    if pending:
        raise ValidationFailed(
            _("恢复使用须专家组诊断分类（且排除疫苗质量事故）：%(n)s") % {"n": "、".join(pending)},
            field="reports",
            code=E.LOT_RELEASE_UNCLASSIFIED,
        )
    if not _text(reason):
        raise ValidationFailed(_("请填写恢复依据"), field="reason", code=CoreErrorCode.REASON_REQUIRED)
    lot = Lot.objects.get(pk=hold.lot_id)
    if hold.state == LotHold.State.HELD and lot.status == "on_hold":
        supply_services.lot_status_change(actor=actor, lot=lot, status="released", reason=_text(reason, 200))
    new_state = "released" if hold.state == LotHold.State.HELD else "dismissed"
    LotHold.objects.filter(pk=hold.pk).update(
        state=new_state, released_at=clock.now(), released_by=_user(actor), release_reason=_text(reason, 300)
    )
    hold.refresh_from_db()
    audit_record(
        actor=actor, action="safety.lot_hold_release", obj=hold, new={"state": new_state, "reason": reason}
    )
    return hold


# ------------------------------------------------------------------------------------------ clocks


_ROLES_TOLD = {
    domain.ClockKind.IMMEDIATE: "county_admin",
    domain.ClockKind.CARD: "county_admin,hospital,site",
    domain.ClockKind.INVESTIGATION: "county_admin",
    domain.ClockKind.PRELIMINARY: "county_admin,safety_panel",
}


def clocks_escalate(*, now: dt.datetime | None = None) -> int:
    """Escalate every running clock that is due soon or overdue, once per case × clock × level: a
    ``ClockAlert`` (shown on the county's list and the case) and a message to the county's duty phones and
    the hospital's named reporter. Returns how many alerts were made."""
    now = now or clock.now()
    made = 0
    open_reports = AdverseEventReport.objects.exclude(status="closed").select_related("hospital", "site")
    for r in open_reports.iterator():
        for c in domain.clocks(r.case_times(), now):
            if c.state not in (domain.ClockState.DUE_SOON, domain.ClockState.OVERDUE):
                continue
            with transaction.atomic():
                alert, created = ClockAlert.objects.get_or_create(
                    report=r,
                    clock=c.kind.value,
                    level=c.state.value,
                    defaults={"at": now, "roles": _ROLES_TOLD[c.kind]},
                )
                if not created:
                    continue
                made += 1
                text = _("【疫苗安全】个案%(n)s“%(c)s”%(s)s，截止%(due)s") % {
                    "n": r.number,
                    "c": c.kind.label_zh,
                    "s": c.state.label_zh,
                    "due": timezone.localtime(c.due).strftime("%m-%d %H:%M"),
                }
                phones = list(policy()["duty_phones"])
                if r.hospital_id and r.hospital.reporter_phone:
                    phones.append(r.hospital.reporter_phone)
                for i, phone in enumerate(phones):
                    notification_queue(
                        template="aefi_clock", phone=phone, text=text, reference=f"aefi-clock:{alert.pk}:{i}"
                    )
                audit_record(
                    actor=None,
                    action="safety.clock_alert",
                    obj=alert,
                    new={"report": r.number, "clock": c.kind.value, "level": c.state.value},
                )
    return made


# ----------------------------------------------------------------------------------------- signals

AGE_BANDS = ("0-17", "18-59", "60+")


def age_band(age: int) -> str:
    return "0-17" if age < 18 else ("18-59" if age < 60 else "60+")


# A transaction that recorded or voided a dose is over this long after it began (the tally's mark moves to
# the doses read one lag ago, so no dose with a lower id can still be uncommitted); the tally is counted
# from scratch again every REBUILD (a person's corrected birth date or a merge moves doses between bands).
TALLY_LAG = dt.timedelta(hours=1)
TALLY_REBUILD = dt.timedelta(days=7)


def _tally_add(rows, sign: int) -> None:
    """Add (or with ``sign`` −1 take away) grouped counts to the tally, in a few statements."""
    from .models import DoseTally

    rows = [r for r in rows if r[3]]
    if not rows:
        return
    have = {
        (t.given_on, t.product_code, t.band): t
        for t in DoseTally.objects.filter(
            given_on__in={r[0] for r in rows}, product_code__in={r[1] for r in rows}
        )
    }
    new = []
    for day, product, band, n in rows:
        t = have.get((day, product, band))
        if t is None:
            t = DoseTally(given_on=day, product_code=product, band=band, doses=0)
            have[(day, product, band)] = t
            new.append(t)
        t.doses += sign * n
    changed = [t for t in have.values() if t.pk is not None]
    DoseTally.objects.bulk_update(changed, ["doses"], batch_size=1000)
    DoseTally.objects.bulk_create(new, batch_size=1000)


@transaction.atomic
def dose_tally_refresh(*, rebuild: bool = False) -> DoseTallyMark:
    """Move the dose tally of the signals run forward (one run at a time: the mark's row is locked).

    From scratch (the first time, every ``TALLY_REBUILD`` or when asked): one grouped count of the doses
    recorded before ``now − TALLY_LAG`` (standing then). Otherwise, once the candidate mark read at the
    previous run is older than the lag: the doses recorded between the two marks are added and the tallied
    doses voided between the two void horizons taken away — both read through the primary key and the index of
    voided doses. The candidate is then the highest dose id now. Reads (``selectors.doses_by_product_band``)
    add what happened since the mark, so the figures are exact at any moment."""
    from django.db.models import Max

    from . import selectors
    from .models import DoseTally, DoseTallyMark

    now = clock.now()
    mark = DoseTallyMark.objects.select_for_update().order_by("pk").first()
    if mark is None:
        try:
            with transaction.atomic():
                DoseTallyMark.objects.create(pk=1)
        except IntegrityError:
            pass
        mark = DoseTallyMark.objects.select_for_update().get(pk=1)
    top = Dose.objects.aggregate(m=Max("id"))["m"] or 0
    if rebuild or mark.built_at is None or mark.built_at <= now - TALLY_REBUILD or mark.built_at > now:
        cut = now - TALLY_LAG
        through = Dose.objects.filter(recorded_at__lte=cut).aggregate(m=Max("id"))["m"] or 0
        DoseTally.objects.all().delete()
        standing = Dose.objects.filter(Q(voided_at__isnull=True) | Q(voided_at__gt=cut), pk__lte=through)
        DoseTally.objects.bulk_create(
            [
                DoseTally(given_on=d, product_code=p, band=b, doses=n)
                for d, p, b, n in selectors.dose_bands(standing)
            ],
            batch_size=1000,
        )
        mark.through_id, mark.voids_through, mark.built_at = through, cut, now
        mark.pending_id, mark.pending_at = top, now
    elif mark.pending_at is not None and mark.pending_at <= now - TALLY_LAG and mark.pending_id is not None:
        new_through, new_voids = max(mark.pending_id, mark.through_id), mark.pending_at
        added = Dose.objects.filter(
            Q(voided_at__isnull=True) | Q(voided_at__gt=new_voids),
            pk__gt=mark.through_id,
            pk__lte=new_through,
        )
        _tally_add(selectors.dose_bands(added), +1)
        if mark.voids_through is not None:
            voided = Dose.objects.filter(
                voided_at__isnull=False,
                voided_at__gt=mark.voids_through,
                voided_at__lte=new_voids,
                pk__lte=mark.through_id,
            )
            _tally_add(selectors.dose_bands(voided), -1)
        mark.through_id, mark.voids_through = new_through, new_voids
        mark.pending_id, mark.pending_at = top, now
    elif mark.pending_at is None:
        mark.pending_id, mark.pending_at = top, now
    mark.save()
    return mark


def signals_run(*, day: dt.date | None = None) -> list[SafetySignal]:
    """The daily MaxSPRT run: for every product × watched outcome, the doses given so far by age band, the
    expected count from the background rates, the observed reports with the outcome's signs; a signal opens
    a ``SafetySignal`` (once while open)."""
    from . import selectors

    day = day or clock.today()
    p = policy()
    T, M, alpha = float(p["maxsprt_T"]), int(p["maxsprt_M"]), float(p["maxsprt_alpha"])
    dose_tally_refresh()
    doses = selectors.doses_by_product_band(until=day)
    observed = selectors.events_by_product_outcome(until=day)
    already = set(SafetySignal.objects.filter(open=True).values_list("product_code", "outcome_id"))
    opened: list[SafetySignal] = []
    for outcome in Outcome.objects.prefetch_related("rates"):
        rates = {r.band: float(r.per_100k) for r in outcome.rates.all()}
        for product, bands in doses.items():
            mu = domain.expected_count(bands, rates)
            c = observed.get((product, outcome.sign_group), 0)
            test = domain.maxsprt_test(c, mu, T=T, M=M, alpha=alpha)
            if not test.signal or (product, outcome.pk) in already:
                continue
            with transaction.atomic():
                # Read once above; the partial unique index keeps a concurrent run from opening it twice.
                if SafetySignal.objects.filter(product_code=product, outcome=outcome, open=True).exists():
                    continue
                sig = SafetySignal.objects.create(
                    product_code=product,
                    outcome=outcome,
                    day=day,
                    observed=c,
                    expected=mu,
                    llr=test.llr,
                    cv=test.cv or 0.0,
                    T=T,
                    M=M,
                    alpha=alpha,
                    doses=sum(bands.values()),
                )
                audit_record(
                    actor=None,
                    action="safety.signal_open",
                    obj=sig,
                    new={
                        "product": product,
                        "outcome": outcome.code,
                        "observed": c,
                        "expected": round(mu, 4),
                        "llr": round(test.llr, 4),
                        "cv": test.cv,
                    },
                )
                opened.append(sig)
    return opened


@transaction.atomic
def background_rate_set(*, actor, outcome: Outcome, band: str, per_100k) -> BackgroundRate:
    _require(actor, "safety.change_backgroundrate")
    try:
        value = Decimal(str(per_100k))
    except (InvalidOperation, ValueError):
        value = Decimal(-1)
    if band not in AGE_BANDS or not value.is_finite() or value < 0:
        raise ValidationFailed(
            _("背景发生率须为非负数，年龄组须为 0-17、18-59 或 60+"), field="per_100k", code=E.RATE_INVALID
        )
    rate, _c = BackgroundRate.objects.update_or_create(
        outcome=outcome, band=band, defaults={"per_100k": value}
    )
    audit_record(
        actor=actor,
        action="safety.rate_set",
        obj=rate,
        new={"outcome": outcome.code, "band": band, "per_100k": str(value)},
    )
    return rate


# ------------------------------------------------------------------------------------------ claims

_PAYERS = {
    "compensation": "疫苗上市许可持有人",
    "insurance": "县预防接种异常反应商业保险",
    "medical": "医疗保障基金",
}


def _amount(value, field: str) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        d = Decimal(-1)
    if not d.is_finite() or d < 0 or d >= Decimal("1e10"):
        raise ValidationFailed(
            _("金额须为非负数（元，最多两位小数）"), field=field, code=E.CLAIM_AMOUNT_INVALID
        )
    if d != d.quantize(Decimal("0.01")):
        raise ValidationFailed(_("金额最多两位小数"), field=field, code=E.CLAIM_AMOUNT_INVALID)
    return d


@transaction.atomic
def claim_file(*, actor, report_id: int, kind: str, amount, note: str = "") -> Claim:
    _require(actor, "safety.add_claim")
    r = AdverseEventReport.objects.filter(pk=report_id).first()
    if r is None:
        raise NotFound(_("个案不存在"), code=E.REPORT_NOT_FOUND)
    if kind not in Claim.Kind.values:
        raise ValidationFailed(_("请选择类别"), field="kind", code=E.CLAIM_KIND_UNKNOWN)
    claim = Claim.objects.create(
        report=r,
        kind=kind,
        payer=_PAYERS[kind],
        classification=r.classification,
        amount_claimed=_amount(amount, "amount"),
        filed_at=clock.now(),
        note=_text(note, 300),
    )
    audit_record(
        actor=actor,
        action="safety.claim_file",
        obj=claim,
        new={"report": r.number, "kind": kind, "amount": str(claim.amount_claimed)},
    )
    return claim


@transaction.atomic
def claim_decide(*, actor, claim_id: int, state: str, amount_paid=None, note: str = "") -> Claim:
    """Approve, refuse or pay a claim. Compensation (补偿) is approved only for an abnormal reaction or a quality
    incident classified by the panel."""
    _require(actor, "safety.change_claim")
    claim = Claim.objects.select_for_update().select_related("report").filter(pk=claim_id).first()
    if claim is None:
        raise NotFound(_("申请不存在"), code=E.CLAIM_NOT_FOUND)
    moves = {"filed": {"approved", "refused"}, "approved": {"paid"}}
    if state not in moves.get(claim.state, set()):
        raise ValidationFailed(_("申请当前状态不能改为该状态"), field="state", code=E.CLAIM_STATE)
    cls = claim.report.classification
    if (
        state == "approved"
        and claim.kind == "compensation"
        and (not cls or domain.Classification(cls) not in domain.COMPENSABLE)
    ):
        raise ValidationFailed(
            _("补偿须经专家组诊断为异常反应或疫苗质量事故"), field="state", code=E.CLAIM_STATE
        )
    old = claim.state
    claim.state = state
    claim.classification = cls
    claim.decided_at = clock.now()
    if state == "paid":
        claim.amount_paid = _amount(amount_paid, "amount_paid")
    if note:
        claim.note = _text(note, 300)
    claim.save()
    audit_record(
        actor=actor,
        action="safety.claim_decide",
        obj=claim,
        old={"state": old},
        new={
            "state": state,
            "amount_paid": str(claim.amount_paid) if claim.amount_paid is not None else None,
        },
    )
    return claim


def report_from_person(
    *,
    resident,
    dose_id: int | None,
    onset_at,
    signs,
    description: str = "",
    hospitalised: bool = False,
    phone: str,
) -> AdverseEventReport:
    """The person's own report from their private record page (the link decided who they are): one of their
    standing doses, when it started, what they feel. The county CDC follows it up."""
    dose = Dose.objects.filter(pk=dose_id or 0, resident=resident, voided_at__isnull=True).first()
    if dose is None:
        raise ValidationFailed(_("请选择是哪一次接种后出现的不适"), field="dose", code=E.DOSE_NOT_FOUND)
    if onset_at is None:
        raise ValidationFailed(_("请填写开始不舒服的时间"), field="onset_at", code=E.ONSET_INVALID)
    if timezone.is_naive(onset_at):
        onset_at = timezone.make_aware(onset_at)
    return report_create(
        actor=None,
        dose=dose,
        source=AdverseEventReport.Source.PERSON,
        onset_at=onset_at,
        signs=signs,
        description=description,
        criteria=["hospitalisation"] if hospitalised else [],
        reporter_name=_("受种者本人或监护人"),
        reporter_phone=phone,
    )

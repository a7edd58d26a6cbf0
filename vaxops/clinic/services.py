"""Writes to a person's vaccination record. Each function is atomic, audited, checks the actor's role
and scope, and tells the apps above (``clinic.signals``: campaign's status, supply's code, booking's
appointment, certs' certificates) in the same transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.signing import BadSignature, Signer
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxops.accounts.scope import require
from vaxops.audit.services import audit_record
from vaxops.catalog import domain
from vaxops.catalog.errors import CatalogErrorCode
from vaxops.catalog.selectors import catalogue_current, question_set_on
from vaxops.core import clock
from vaxops.core.actors import SystemActor
from vaxops.core.errors import CoreErrorCode, NotFound, PermissionDenied, ValidationFailed
from vaxops.core.joined import joined
from vaxops.notify.services import notification_queue
from vaxops.registry.domain import mask_name
from vaxops.registry.models import Resident
from vaxops.registry.selectors import resident_get, residents_visible

from .errors import ClinicErrorCode
from .models import (
    Contraindication,
    Deferral,
    Dose,
    RecordLink,
    ScreeningRecord,
)
from .signals import dose_corrected, dose_reach, dose_voided, record_changed, resident_reach


def _status_refresh(resident_ids: list[int], *, dose: Dose | None = None) -> None:
    """Tell the apps above (campaign: the mobilisation lists) that these people's records changed (with
    ``dose``: one person's, by the dose just written)."""
    with joined():
        if dose is None:
            record_changed.send(sender=Dose, resident_ids=resident_ids)
        else:
            record_changed.send(sender=Dose, resident_ids=resident_ids, dose=dose)


def status_store(resident: Resident, inputs, *, on: dt.date, dose: Dose | None = None) -> None:
    """Tell the apps above that one person's record changed, with the engine inputs the caller has just read
    and extended (the desk's dose: no second read of the person's history) and, before it is written, the
    dose itself."""
    with joined():  # the receivers' writes go to the database as one statement
        record_changed.send(
            sender=Dose, resident_ids=[resident.pk], resident=resident, inputs=inputs, on=on, dose=dose
        )


def given_dose(dose: Dose) -> domain.GivenDose:
    """A dose row as the rules engine sees it (as ``person_inputs`` reads it)."""
    return domain.GivenDose(
        product_code=dose.product_code,
        date=dose.given_on,
        place=dose.place or None,
        external=dose.external,
        ref=str(dose.pk),
    )


def recorder(actor) -> Any:
    """The user row to store as recorder, or ``None`` for the command line's system actor."""
    return actor if getattr(actor, "pk", None) else None


def _resident(actor, resident_id: int) -> Resident:
    """The resident in the actor's scope — or, for site staff, anyone checked in at their site today (a
    site serves people from anywhere in the county)."""
    try:
        return resident_get(user=actor, resident_id=resident_id)
    except NotFound:
        if getattr(actor, "pk", None) and any(
            allowed
            for _, allowed in resident_reach.send(sender=Resident, actor=actor, resident_id=resident_id)
        ):
            return Resident.objects.select_related("priority_group", "employer", "village").get(
                pk=resident_id
            )
        raise


def _as_date(value: Any, *, field: str, label: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValidationFailed(
            _("%(label)s须为日期") % {"label": label}, field=field, code=CoreErrorCode.DATE_INVALID
        )
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationFailed(
            _("%(label)s“%(value)s”无效，应为 YYYY-MM-DD") % {"label": label, "value": value},
            field=field,
            code=CoreErrorCode.DATE_INVALID,
        ) from None


# ------------------------------------------------------------------------------------------ doses


@transaction.atomic
def dose_record_external(
    *, actor, resident_id: int, product: str, given_on: dt.date | str, place: str
) -> Dose:
    """Enter a dose the person received elsewhere, from their paper record (接种凭证).

    ``product`` is a catalogue or DCC ``mp`` code; the catalogue code is stored. Refuses a date in the
    future or before birth, a missing place, and a second dose of the same product on the same day.
    """
    require(actor, "clinic.add_dose")
    resident = _resident(actor, resident_id)
    found = catalogue_current().find_product((product or "").strip())
    if found is None:
        raise ValidationFailed(
            _("疫苗品种“%(product)s”不在目录中") % {"product": product},
            field="product",
            code=CatalogErrorCode.PRODUCT_UNKNOWN,
        )
    day = _as_date(given_on, field="given_on", label="接种日期")
    if day > clock.today():
        raise ValidationFailed(
            _("接种日期%(day)s晚于今天") % {"day": day.isoformat()},
            field="given_on",
            code=ClinicErrorCode.DOSE_IN_FUTURE,
        )
    if resident.birth_date and day < resident.birth_date:
        raise ValidationFailed(
            _("接种日期%(day)s早于出生日期") % {"day": day.isoformat()},
            field="given_on",
            code=ClinicErrorCode.DOSE_BEFORE_BIRTH,
        )
    place = (place or "").strip()
    if not place:
        raise ValidationFailed(
            _("请填写接种地点（接种单位或地区）"), field="place", code=ClinicErrorCode.DOSE_PLACE_REQUIRED
        )
    if len(place) > 200:
        raise ValidationFailed(
            _("接种地点超过200个字符"), field="place", code=ClinicErrorCode.DOSE_PLACE_TOO_LONG
        )
    duplicate = _("该居民%(day)s已有%(product)s的接种记录") % {"day": day.isoformat(), "product": found.code}
    if Dose.objects.filter(
        resident=resident, given_on=day, product_code=found.code, voided_at__isnull=True
    ).exists():
        raise ValidationFailed(duplicate, field="given_on", code=ClinicErrorCode.DOSE_DUPLICATE)
    dose = Dose(
        resident=resident,
        product_code=found.code,
        given_on=day,
        place=place,
        external=True,
        recorded_by=recorder(actor),
    )
    try:
        with transaction.atomic():
            dose.save()
    except IntegrityError:
        # A concurrent request recorded the same dose between the check and the insert.
        raise ValidationFailed(duplicate, field="given_on", code=ClinicErrorCode.DOSE_DUPLICATE) from None
    audit_record(
        actor=actor,
        action="dose.record_external",
        obj=dose,
        new={
            "resident_id": resident.pk,
            "product_code": found.code,
            "given_on": day.isoformat(),
            "place": place,
            "external": True,
        },
    )
    _status_refresh([resident.pk], dose=dose)
    return dose


@transaction.atomic
def dose_void(*, actor, dose_id: int, reason: str, disposition: str | None = None) -> Dose:
    """Void a dose recorded in error; it stays on file and leaves every evaluation.

    Those who enter paper records may void doses given elsewhere; a dose given here needs
    ``clinic.void_dose`` (the county CDC). A dose recorded from a traceability code needs a
    ``disposition``: ``returned`` (the package was not opened: back into stock) or ``wasted``; the code
    and the stock ledger follow in the same transaction.
    """
    may_void_any = actor.has_perm("clinic.void_dose")
    if not (may_void_any or actor.has_perm("clinic.add_dose")):
        raise PermissionDenied(_("您的角色无权作废接种记录"), code=CoreErrorCode.ROLE_FORBIDDEN)
    dose = Dose.objects.filter(pk=dose_id).first()
    if dose is None or not residents_visible(user=actor).filter(pk=dose.resident_id).exists():
        raise NotFound(_("接种记录不存在或不在您的管辖范围内"), code=ClinicErrorCode.DOSE_NOT_FOUND)
    if not (may_void_any or dose.external):
        raise PermissionDenied(
            _("本地接种记录只能由县疾控中心作废"), code=ClinicErrorCode.DOSE_VOID_COUNTY_ONLY
        )
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationFailed(_("请填写作废原因"), field="reason", code=CoreErrorCode.REASON_REQUIRED)
    if len(reason) > 200:
        raise ValidationFailed(_("作废原因超过200个字符"), field="reason", code=CoreErrorCode.REASON_TOO_LONG)
    if dose.trace_code_id and disposition not in ("returned", "wasted"):
        raise ValidationFailed(
            _("请选择疫苗去向：未开启退回库存，或已开启报损"),
            field="disposition",
            code=ClinicErrorCode.DOSE_DISPOSITION_REQUIRED,
        )
    now = clock.now()
    # Conditional update: of two concurrent voids exactly one wins (SQLite ignores select_for_update).
    if not Dose.objects.filter(pk=dose.pk, voided_at__isnull=True).update(
        voided_at=now, voided_by=recorder(actor), void_reason=reason
    ):
        raise ValidationFailed(
            _("该接种记录已作废"), field="dose_id", code=ClinicErrorCode.DOSE_ALREADY_VOIDED
        )
    dose.refresh_from_db()
    _links_revoke(RecordLink.objects.filter(dose=dose), actor=actor, reason=f"接种记录作废：{reason}")
    # The code and stock ledger (supply), the appointment (booking) and the certificates (certs) follow.
    dose_voided.send(sender=Dose, dose=dose, actor=actor, reason=reason, disposition=disposition, at=now)
    audit_record(
        actor=actor,
        action="dose.void",
        obj=dose,
        purpose=reason,
        old={"voided_at": None},
        new={
            "resident_id": dose.resident_id,
            "product_code": dose.product_code,
            "given_on": dose.given_on.isoformat(),
            "voided_at": now.isoformat(),
            "void_reason": reason,
        },
    )
    _status_refresh([dose.resident_id])
    return dose


@transaction.atomic
def dose_correct(
    *,
    actor,
    dose_id: int,
    reason: str,
    given_at: dt.datetime | None = None,
    injection_site: str | None = None,
) -> Dose:
    """Correct a dose given here that was recorded with a wrong time of administration or injection site (the
    county CDC, as for a void). The traceability code, lot and person stay: a wrong code or person is a void
    and a new dose. The day follows the corrected time; a time after the dose was recorded is refused. The
    platforms receive the corrected dose as an update of the same record (``dose_corrected``)."""
    if not actor.has_perm("clinic.void_dose"):
        raise PermissionDenied(_("本地接种记录只能由县疾控中心更正"), code=CoreErrorCode.ROLE_FORBIDDEN)
    dose = Dose.objects.select_for_update().filter(pk=dose_id).first()
    if dose is None or not residents_visible(user=actor).filter(pk=dose.resident_id).exists():
        raise NotFound(_("接种记录不存在或不在您的管辖范围内"), code=ClinicErrorCode.DOSE_NOT_FOUND)
    if dose.external:
        raise ValidationFailed(
            _("外地接种记录不能更正，请作废后重新补录"),
            field="dose_id",
            code=ClinicErrorCode.DOSE_CORRECTION_LOCAL_ONLY,
        )
    if dose.voided_at is not None:
        raise ValidationFailed(
            _("该接种记录已作废"), field="dose_id", code=ClinicErrorCode.DOSE_ALREADY_VOIDED
        )
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationFailed(_("请填写更正原因"), field="reason", code=CoreErrorCode.REASON_REQUIRED)
    if len(reason) > 200:
        raise ValidationFailed(_("更正原因超过200个字符"), field="reason", code=CoreErrorCode.REASON_TOO_LONG)
    changes: dict[str, Any] = {}
    if given_at is not None and given_at != dose.given_at:
        if given_at > clock.now():
            raise ValidationFailed(
                _("接种时间晚于现在"), field="given_at", code=ClinicErrorCode.DOSE_IN_FUTURE
            )
        if dose.recorded_at and given_at > dose.recorded_at:
            raise ValidationFailed(
                _("接种时间晚于登记时间"), field="given_at", code=ClinicErrorCode.DOSE_CORRECTION_AFTER_RECORD
            )
        day = timezone.localtime(given_at).date()
        if dose.resident.birth_date and day < dose.resident.birth_date:
            raise ValidationFailed(
                _("接种日期%(day)s早于出生日期") % {"day": day.isoformat()},
                field="given_at",
                code=ClinicErrorCode.DOSE_BEFORE_BIRTH,
            )
        changes["given_at"] = given_at
        if day != dose.given_on:
            changes["given_on"] = day
    if injection_site is not None:
        site = injection_site.strip()[:40]
        if site != dose.injection_site:
            changes["injection_site"] = site
    if not changes:
        raise ValidationFailed(
            _("没有需要更正的内容"), field="given_at", code=ClinicErrorCode.DOSE_CORRECTION_EMPTY
        )
    old = {k: getattr(dose, k) for k in changes}
    for k, v in changes.items():
        setattr(dose, k, v)
    try:
        with transaction.atomic():
            dose.save(update_fields=list(changes))
    except IntegrityError:
        raise ValidationFailed(
            _("该居民当日已有同品种的接种记录"), field="given_at", code=ClinicErrorCode.DOSE_DUPLICATE
        ) from None
    now = clock.now()
    dose_corrected.send(sender=Dose, dose=dose, actor=actor, old=old, at=now)
    audit_record(
        actor=actor,
        action="dose.correct",
        obj=dose,
        purpose=reason,
        old={k: str(v) for k, v in old.items()},
        new={k: str(v) for k, v in changes.items()} | {"reason": reason},
    )
    if "given_on" in changes:
        _status_refresh([dose.resident_id])
    return dose


# ------------------------------------------------------------------------------------------ screening


def _answers_for(question_set: domain.QuestionSet, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers with dates parsed (JSON and forms send ``YYYY-MM-DD``; blank means "no")."""
    out: dict[str, Any] = {}
    for code, value in answers.items():
        q = question_set.question(code)
        if q is not None and q.answer_type is domain.AnswerType.DATE and not isinstance(value, dt.date):
            if value is None or (isinstance(value, str) and not value.strip()):
                value = None
            else:
                value = _as_date(value, field=code, label=f"“{q.text_zh}”的日期")
        out[code] = value
    return out


def _jsonable(answers: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in answers.items()}


def _temperature(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            _("体温“%(value)s”不是数字") % {"value": value},
            field="temperature_c",
            code=ClinicErrorCode.TEMPERATURE_INVALID,
        ) from None


@transaction.atomic
def screening_record(
    *,
    actor,
    resident_id: int,
    answers: Mapping[str, Any],
    temperature_c: float | Decimal | str | None,
    bp_systolic: int | None,
    bp_diastolic: int | None,
    on: dt.date | None = None,
) -> ScreeningRecord:
    """Pre-screen a person with the question set in force on ``on`` (default today) and store the record.

    The deferrals it yields replace the person's earlier standing ones (the newer screening is the
    current word on their health); a contraindication is added and stays until lifted. Refuses
    (``ValidationFailed``, ``field`` = question code or vital sign) a missing or malformed answer.
    """
    require(actor, "clinic.add_screeningrecord")
    resident = _resident(actor, resident_id)
    today = clock.today()
    on = on or today
    if on > today:
        raise ValidationFailed(
            _("预检日期%(on)s晚于今天") % {"on": on.isoformat()},
            field="on",
            code=ClinicErrorCode.SCREENING_IN_FUTURE,
        )
    try:
        question_set = question_set_on(on)
    except NotFound as e:
        raise ValidationFailed(e.message, field="on", code=CatalogErrorCode.QUESTION_SET_MISSING) from None
    parsed = _answers_for(question_set, answers)
    temperature = _temperature(temperature_c)
    try:
        result = domain.screen(
            question_set=question_set,
            answers=parsed,
            temperature_c=temperature,
            bp_systolic=bp_systolic,
            bp_diastolic=bp_diastolic,
            on=on,
            catalogue=catalogue_current(),
        )
    except ValueError as e:
        field, sep, message = str(e).partition(": ")
        raise ValidationFailed(
            message if sep else str(e), field=field if sep else None, code=ClinicErrorCode.SCREENING_INVALID
        ) from None

    now = clock.now()
    contra = result.contraindicated_products
    record = ScreeningRecord.objects.create(
        resident=resident,
        at=now,
        screened_on=on,
        question_set_version=result.question_set_version,
        answers=_jsonable(parsed),
        temperature_c=Decimal(str(round(temperature or 0, 1))),
        bp_systolic=bp_systolic,
        bp_diastolic=bp_diastolic,
        outcome=result.outcome.value,
        defer_until=result.defer_until,
        defer_condition=result.defer_condition or "",
        contraindicated_products="all" if contra is domain.ALL else list(contra),
        reasons=list(result.reasons),
        notes=list(result.notes),
        screener=recorder(actor),
    )
    superseded = Deferral.objects.filter(
        resident=resident, ended_at__isnull=True, screening__screened_on__lte=on
    ).exclude(screening=record)
    ended = superseded.update(ended_at=now, end_reason=f"由{on.isoformat()}的预检结果取代")
    Deferral.objects.bulk_create(
        Deferral(
            resident=resident, screening=record, until=d.until, condition=d.condition or "", reason=d.reason
        )
        for d in result.deferrals
    )
    if result.contraindication is not None:
        c = result.contraindication
        Contraindication.objects.create(
            resident=resident,
            screening=record,
            reason=c.reason,
            products="all" if c.products is domain.ALL else list(c.products),
        )
    # Answers and reasons are health data; the audit log keeps the outcome only.
    audit_record(
        actor=actor,
        action="screening.record",
        obj=record,
        new={
            "resident_id": resident.pk,
            "question_set_version": record.question_set_version,
            "outcome": record.outcome,
            "defer_until": result.defer_until.isoformat() if result.defer_until else None,
            "contraindicated_products": record.contraindicated_products,
            "deferrals_ended": ended,
        },
    )
    _status_refresh([resident.pk])
    return record


@transaction.atomic
def contraindication_lift(*, actor, contraindication_id: int, reason: str) -> Contraindication:
    """Lift a standing contraindication found to be wrong (e.g. a mistaken answer), with a reason."""
    require(actor, "clinic.change_contraindication")
    c = Contraindication.objects.filter(pk=contraindication_id).first()
    if c is None or not residents_visible(user=actor).filter(pk=c.resident_id).exists():
        raise NotFound(
            _("接种禁忌记录不存在或不在您的管辖范围内"), code=ClinicErrorCode.CONTRAINDICATION_NOT_FOUND
        )
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationFailed(_("请填写解除原因"), field="reason", code=CoreErrorCode.REASON_REQUIRED)
    now = clock.now()
    if not Contraindication.objects.filter(pk=c.pk, lifted_at__isnull=True).update(
        lifted_at=now, lift_reason=reason[:200]
    ):
        raise ValidationFailed(
            _("该接种禁忌已解除"),
            field="contraindication_id",
            code=ClinicErrorCode.CONTRAINDICATION_ALREADY_LIFTED,
        )
    c.refresh_from_db()
    audit_record(
        actor=actor,
        action="contraindication.lift",
        obj=c,
        purpose=reason[:200],
        old={"lifted_at": None},
        new={"resident_id": c.resident_id, "lifted_at": now.isoformat()},
    )
    _status_refresh([c.resident_id])
    return c


# ------------------------------------------------------------------------- the person's record, by link
#
# A link (``/r/<token>/`` for the record, ``/certs/<token>/`` for the certificate) is a ``RecordLink`` row; the
# token is that row's id signed with the secret key, so it cannot be guessed, and the row says whether it still
# works (30 days, unless revoked). Opening it needs no login; each successful use is audited.

RECORD_SALT = "vaxops.record-link"  # not the salt of the stateless tokens before links were stored
RECORD_LINK_DAYS = 30
SHARE_PERM = "clinic.share_record_link"


def may_share_record_link(user) -> bool:
    """The roles that hand a person their link at the site or in the office (registration and observation
    desks, the county CDC): ``clinic.share_record_link``. Others never see a link."""
    return bool(user.has_perm(SHARE_PERM))


def record_link_token(link: RecordLink) -> str:
    """The signed token naming ``link`` (the same whether the link works or not)."""
    return Signer(salt=RECORD_SALT).sign(str(link.pk))


def record_link_url(link: RecordLink, *, base_url: str = "/", page: str = "r") -> str:
    return f"{base_url.rstrip('/')}/{page}/{record_link_token(link)}/"


def record_link_from_token(token: str) -> RecordLink | None:
    """The working link a token names: None for a forged, unknown, expired or revoked one (one answer for all)."""
    try:
        pk = int(Signer(salt=RECORD_SALT).unsign(token))
    except (BadSignature, ValueError):
        return None
    return (
        RecordLink.objects.select_related("resident")
        .filter(pk=pk, revoked_at__isnull=True, expires_at__gt=clock.now())
        .first()
    )


def record_link_active(*, resident_id: int, dose_id: int | None = None) -> list[RecordLink]:
    """The person's working links (newest first), or those made for one dose. A read: nothing is created."""
    qs = RecordLink.objects.filter(
        resident_id=resident_id, revoked_at__isnull=True, expires_at__gt=clock.now()
    )
    if dose_id is not None:
        qs = qs.filter(dose_id=dose_id)
    return list(qs.order_by("-created_at", "-id"))


def record_link_issue(*, actor, resident: Resident, channel: str, dose: Dose | None = None) -> RecordLink:
    """Store a new link (the caller has checked the actor may give it: a service of this or another app)."""
    now = clock.now()
    link = RecordLink.objects.create(
        resident=resident,
        dose=dose,
        channel=channel,
        created_at=now,
        created_by=recorder(actor),
        expires_at=now + dt.timedelta(days=RECORD_LINK_DAYS),
    )
    audit_record(
        actor=actor,
        action="record_link.create",
        obj=link,
        new={
            "resident_id": resident.pk,
            "dose_id": dose.pk if dose else None,
            "channel": channel,
            "expires_at": link.expires_at.isoformat(),
        },
    )
    return link


@transaction.atomic
def record_link_create(*, actor, dose_id: int) -> RecordLink:
    """A new link for the person of a dose, to be handed to them by the staff member (who sees it once on the
    page). Needs ``clinic.share_record_link`` and the dose's person in the actor's scope."""
    if not may_share_record_link(actor):
        raise PermissionDenied(
            _("您的角色无权向受种者提供电子接种记录链接"), code=CoreErrorCode.ROLE_FORBIDDEN
        )
    dose = _dose_for_link(actor, dose_id)
    return record_link_issue(actor=actor, resident=dose.resident, channel=RecordLink.Channel.STAFF, dose=dose)


def _links_revoke(qs, *, actor, reason: str) -> int:
    reason = (reason or "").strip()[:200]
    if len(reason) < 2:
        raise ValidationFailed(_("请填写撤销原因"), field="reason", code=CoreErrorCode.REASON_REQUIRED)
    now = clock.now()
    ids = list(qs.filter(revoked_at__isnull=True).values_list("pk", flat=True))
    if not ids:
        return 0
    n = RecordLink.objects.filter(pk__in=ids, revoked_at__isnull=True).update(
        revoked_at=now, revoke_reason=reason
    )
    for pk in ids:
        audit_record(
            actor=actor,
            action="record_link.revoke",
            object_type="clinic.recordlink",
            object_id=pk,
            old={"revoked_at": None},
            new={"revoked_at": now.isoformat()},
            purpose=reason,
        )
    return n


def _dose_for_link(actor, dose_id: int) -> Dose:
    """A dose whose person is in the actor's scope, or given at the actor's own site (a walk-in from elsewhere)."""
    dose = Dose.objects.select_related("resident").filter(pk=dose_id).first()
    if dose is not None and (
        (
            dose.site_id is not None
            and any(allowed for _, allowed in dose_reach.send(sender=Dose, actor=actor, dose=dose))
        )
        or residents_visible(user=actor).filter(pk=dose.resident_id).exists()
    ):
        return dose
    raise NotFound(_("接种记录不存在或不在您的管辖范围内"), field="dose", code=ClinicErrorCode.DOSE_NOT_FOUND)


@transaction.atomic
def record_links_revoke(*, actor, dose_id: int, reason: str, link_id: int | None = None) -> int:
    """Staff revoke the links of a dose's person at their request (one, or all when ``link_id`` is None);
    returns how many stopped working. Needs ``clinic.share_record_link`` and the dose visible to the actor."""
    if not may_share_record_link(actor):
        raise PermissionDenied(_("您的角色无权撤销电子接种记录链接"), code=CoreErrorCode.ROLE_FORBIDDEN)
    dose = _dose_for_link(actor, dose_id)
    qs = RecordLink.objects.filter(resident_id=dose.resident_id)
    if link_id is not None:
        qs = qs.filter(pk=link_id)
    return _links_revoke(qs, actor=actor, reason=reason)


@transaction.atomic
def record_link_revoke_by_holder(*, token: str) -> bool:
    """The person revokes the link they hold (the button on their page); False for a link that does not work."""
    link = record_link_from_token(token)
    if link is None:
        return False
    _links_revoke(
        RecordLink.objects.filter(pk=link.pk), actor=SystemActor("resident-link"), reason="受种者本人申请撤销"
    )
    return True


def record_link_used(*, link: RecordLink, page: str) -> None:
    """Audit one successful use of a link (``page``: record, certificate, certificate_pdf, certificate_issue).
    Refused tokens are not recorded here: they are answered 404 and counted with the anonymous refusals."""
    audit_record(
        actor=SystemActor("resident-link"),
        action="record_link.use",
        obj=link,
        new={"resident_id": link.resident_id, "page": page},
    )


def record_link_send(
    *, actor, resident: Resident, base_url: str, dose: Dose | None = None
) -> RecordLink | None:
    """Text the person a new private link to their record (after each dose); None when no phone is on file.
    The link is made for the dose, so voiding the dose revokes it."""
    if not resident.phone:
        return None
    if (
        dose is not None
        and RecordLink.objects.filter(dose=dose, channel=RecordLink.Channel.DOSE_SMS).exists()
    ):
        return None  # already sent for this dose (the notification's reference is unique too)
    with transaction.atomic():
        link = record_link_issue(
            actor=actor, resident=resident, channel=RecordLink.Channel.DOSE_SMS, dose=dose
        )
        url = record_link_url(link, base_url=base_url)
        what = (
            f"第{dose.dose_number}剂"
            if dose and dose.dose_number and not dose.is_booster
            else "加强针"
            if dose
            else ""
        )
        notification_queue(
            template="record_link",
            phone=resident.phone,
            resident=resident,
            reference=f"R:{dose.pk}" if dose else "",
            text=f"【清溪县疫苗接种】{mask_name(resident.name)}，您已完成新冠疫苗{what}接种，"
            f"电子接种记录：{url} 请妥善保管，勿转发他人。",
            send_now=True,
        )
    return link

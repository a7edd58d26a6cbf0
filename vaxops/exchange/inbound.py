"""Doses given elsewhere arriving as FHIR (a Bundle through the API, or Bulk Data NDJSON files): matched to the
resident by ID document, stored as external doses with their source through clinic's own service (so the
rules engine and the mobilisation lists follow), de-duplicated by the sender's dose identifier, and — where
the exchange would have to guess — put on a review list for a person to decide.

A review, not a guess: no resident with that ID document; an unknown product; a dose that disagrees with one
we hold (the same person and day, another product); a resource that does not validate is refused outright.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from vaxops.audit.services import audit_record
from vaxops.catalog.selectors import catalogue_current
from vaxops.clinic import services as clinic
from vaxops.clinic.models import Dose
from vaxops.core import clock
from vaxops.core.errors import NotFound, ValidationFailed, VaxOpsError
from vaxops.registry.models import Resident

from . import resources
from .errors import ExchangeErrorCode
from .models import InboundDose, InboundReview


@dataclass
class InboundResult:
    created: int = 0
    duplicate: int = 0
    voided: int = 0
    review: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "duplicate": self.duplicate,
            "voided": self.voided,
            "review": self.review,
            "rejected": self.rejected,
            "errors": self.errors[:50],
        }


def _identifier(resource: dict[str, Any]) -> str:
    ids = resource.get("identifier") or []
    if isinstance(ids, dict):
        ids = [ids]
    for i in ids:
        if i.get("system") != resources.SYSTEM_TRACE_CODE and i.get("value"):
            return f"{i.get('system', '')}|{i['value']}"
    return f"id|{resource.get('id', '')}"


def _document(patient: dict[str, Any]) -> tuple[str, str] | None:
    """(证件类型, 证件号码) from the Patient's identifiers (our system names the type; otherwise a
    resident ID card number is recognised by its shape)."""
    prefix = resources.SYSTEM_ID_DOCUMENT + "/"
    for i in patient.get("identifier") or []:
        system, value = i.get("system", ""), (i.get("value") or "").strip().upper()
        if system.startswith(prefix) and value:
            return system[len(prefix) :], value
    for i in patient.get("identifier") or []:
        value = (i.get("value") or "").strip().upper()
        if len(value) == 18 and value[:17].isdigit():
            return "resident_id", value
    return None


def _product(imm: dict[str, Any]) -> str:
    catalogue = catalogue_current()
    for c in (imm.get("vaccineCode") or {}).get("coding") or []:
        code = c.get("code") or ""
        if code and catalogue.find_product(code) is not None:
            return catalogue.find_product(code).code
    return ""


def _review(*, source: str, identifier: str, reason: str, resource: dict, resident: Resident | None) -> bool:
    """Put one incoming dose on the review list (once per source and identifier)."""
    try:
        with transaction.atomic():
            InboundReview.objects.create(
                source=source[:200],
                identifier=identifier[:300],
                reason=reason[:300],
                resource=resource,
                resident_id=resident.pk if resident else None,
                village_code=resident.village_code if resident else "",
                received_at=clock.now(),
            )
    except IntegrityError:
        return False
    return True


def inbound_apply(
    *, actor, source: str, immunizations: list[dict[str, Any]], patients: dict[str, dict[str, Any]]
) -> InboundResult:
    """Apply incoming Immunizations; ``patients`` maps each reference (``Patient/x``, a fullUrl) to its
    Patient. Each dose commits on its own (a refusal of one does not undo the others)."""
    result = InboundResult()
    for imm in immunizations:
        errors = resources.validation_errors(imm)
        if errors:
            result.rejected += 1
            result.errors.append(f"{_identifier(imm) if isinstance(imm, dict) else '?'}：{'；'.join(errors)}")
            continue
        try:
            _one(actor=actor, source=source, imm=imm, patients=patients, result=result)
        except VaxOpsError as e:
            result.rejected += 1
            result.errors.append(f"{_identifier(imm)}：{e.message}")
    audit_record(
        actor=actor,
        action="exchange.inbound",
        object_type="exchange.inbounddose",
        new={"source": source, **result.as_dict()},
    )
    return result


def _one(*, actor, source: str, imm: dict, patients: dict[str, dict], result: InboundResult) -> None:
    identifier = _identifier(imm)
    held = InboundDose.objects.filter(source=source, identifier=identifier).select_related("dose").first()
    if imm.get("status") == "entered-in-error":
        if held and held.dose.voided_at is None:
            clinic.dose_void(actor=actor, dose_id=held.dose_id, reason=f"来源系统作废（{source}）")
            result.voided += 1
        else:
            result.duplicate += 1
        return
    if held:
        result.duplicate += 1
        return
    ref = (imm.get("patient") or {}).get("reference", "")
    patient = patients.get(ref) or patients.get(ref.rsplit("/", 1)[-1])
    document = _document(patient) if patient else None
    resident = (
        Resident.objects.filter(id_type=document[0], id_number=document[1]).first() if document else None
    )
    if resident is None:
        if _review(
            source=source,
            identifier=identifier,
            reason="未找到证件号码对应的居民",
            resource=imm,
            resident=None,
        ):
            result.review += 1
        return
    product = _product(imm)
    day = str(imm.get("occurrenceDateTime") or "")[:10]
    if not product:
        if _review(
            source=source, identifier=identifier, reason="疫苗品种不在目录中", resource=imm, resident=resident
        ):
            result.review += 1
        return
    same_day = list(
        Dose.objects.filter(resident=resident, given_on=day, voided_at__isnull=True).values_list(
            "pk", "product_code"
        )
    )
    match = next((pk for pk, code in same_day if code == product), None)
    if match is not None:
        # We hold this very dose already (recorded here or entered by hand): remember the link, add nothing.
        InboundDose.objects.get_or_create(
            source=source, identifier=identifier, defaults={"dose_id": match, "received_at": clock.now()}
        )
        result.duplicate += 1
        return
    if same_day:
        reason = f"与本地记录冲突：该居民{day}已有{same_day[0][1]}的接种记录，来源记录为{product}"
        if _review(source=source, identifier=identifier, reason=reason, resource=imm, resident=resident):
            result.review += 1
        return
    place = (imm.get("location") or {}).get("display") or ""
    with transaction.atomic():
        dose = clinic.dose_record_external(
            actor=actor,
            resident_id=resident.pk,
            product=product,
            given_on=day,
            place=f"{place}（{source}）"[:200] if place else source[:200],
        )
        InboundDose.objects.create(source=source, identifier=identifier, dose=dose, received_at=clock.now())
    result.created += 1


def bundle_apply(*, actor, source: str, bundle: Any) -> InboundResult:
    """A Bundle (transaction, batch, collection …) of Patients and Immunizations."""
    errors = resources.validation_errors(bundle)
    if errors:
        raise ValidationFailed(
            "Bundle 不符合 FHIR R4：" + "；".join(errors[:5]),
            field="bundle",
            code=ExchangeErrorCode.BUNDLE_INVALID,
        )
    patients: dict[str, dict] = {}
    immunizations: list[dict] = []
    for e in bundle.get("entry") or []:
        r = e.get("resource") or {}
        if r.get("resourceType") == "Patient":
            for key in (e.get("fullUrl"), f"Patient/{r.get('id')}" if r.get("id") else None, r.get("id")):
                if key:
                    patients[key] = r
        elif r.get("resourceType") == "Immunization":
            immunizations.append(r)
    return inbound_apply(actor=actor, source=source, immunizations=immunizations, patients=patients)


@transaction.atomic
def review_decide(*, actor, review_id: int, accept: bool) -> InboundReview:
    """Close a review: rejected (nothing recorded), or accepted (the person checked it: recorded as an
    external dose, if it can be matched now)."""
    review = InboundReview.objects.select_for_update().filter(pk=review_id, state="open").first()
    if review is None:
        raise NotFound("待核对记录不存在或已处理", code=ExchangeErrorCode.REVIEW_NOT_FOUND)
    if accept:
        if review.resident_id is None:
            raise ValidationFailed(
                "尚未匹配到居民，不能采纳", field="review", code=ExchangeErrorCode.REVIEW_UNMATCHED
            )
        imm = review.resource
        product = _product(imm)
        place = (imm.get("location") or {}).get("display") or ""
        dose = clinic.dose_record_external(
            actor=actor,
            resident_id=review.resident_id,
            product=product,
            given_on=str(imm.get("occurrenceDateTime") or "")[:10],
            place=f"{place}（{review.source}）"[:200] if place else review.source[:200],
        )
        InboundDose.objects.create(
            source=review.source, identifier=review.identifier, dose=dose, received_at=clock.now()
        )
    review.state = "accepted" if accept else "rejected"
    review.save(update_fields=["state"])
    audit_record(actor=actor, action="exchange.review_decide", obj=review, new={"state": review.state})
    return review

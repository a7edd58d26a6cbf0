"""FHIR R4 resources for a dose, its person and its site: pure mapping functions from plain rows to the
resources' JSON (dicts), and their validation through ``fhir.resources`` (its ``R4B`` models; the library's
default import is R5).

The dicts are what is sent and written; ``validated`` proves each one against the R4 model (every resource
the sender, the receiver and the bulk export handle goes through it, unless a benchmark asks otherwise).
"""

from __future__ import annotations

import datetime as dt
import typing
import uuid
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.adverseevent import AdverseEvent
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.medication import Medication
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient

from vaxops.exchange import r4b

BASE = "https://vaxops.cn/fhir"
SYSTEM_DOSE = f"{BASE}/sid/dose"  # the stable identifier of a dose recorded here
SYSTEM_TRACE_CODE = f"{BASE}/sid/trace-code"  # 药品追溯码 (20 digits)
SYSTEM_PRODUCT = f"{BASE}/CodeSystem/product"  # the catalogue's product codes
SYSTEM_EU_PRODUCT = "https://ec.europa.eu/health/documents/community-register/html/"  # the DCC mp value set
SYSTEM_SITE = f"{BASE}/sid/site"
SYSTEM_ID_DOCUMENT = f"{BASE}/sid/id-document"  # + "/<证件类型>"
SYSTEM_AEFI = f"{BASE}/sid/aefi-report"
EXT_DIVISION = f"{BASE}/StructureDefinition/division-code"  # 12-digit statistical division code
SYSTEM_CODE_STATE = f"{BASE}/CodeSystem/trace-code-state"  # a traceability code's state (supply's states)
EXT_CODE_STATE = f"{BASE}/StructureDefinition/trace-code-state"
EXT_CODE_STATE_AT = f"{BASE}/StructureDefinition/trace-code-state-at"
EXT_CODE_DOSE = f"{BASE}/StructureDefinition/trace-code-dose"  # the dose given from the code (no person)
EXT_CODE_PLACE = f"{BASE}/StructureDefinition/trace-code-place"  # where the code is
SYSTEM_PLACE = f"{BASE}/sid/stock-place"
SYSTEM_AEFI_CLASSIFICATION = f"{BASE}/CodeSystem/aefi-classification"
UUID_NAMESPACE = uuid.UUID("5b1c7f0e-7a2f-4b7e-9a0e-2f3c9a1d6e51")

MODELS: dict[str, Any] = {
    "Immunization": Immunization,
    "Patient": Patient,
    "Location": Location,
    "Organization": Organization,
    "AdverseEvent": AdverseEvent,
    "Medication": Medication,
    "Bundle": Bundle,
    "OperationOutcome": OperationOutcome,
}

SEX = {"M": "male", "F": "female"}


@dataclass(frozen=True)
class PersonRow:
    resident_id: int
    id_type: str
    id_number: str
    name: str
    sex: str
    birth_date: dt.date | None
    village_code: str


@dataclass(frozen=True)
class SiteRow:
    code: str
    name: str
    division_code: str
    address: str = ""


@dataclass(frozen=True)
class CodeRow:
    """A traceability code as the traceability platform sees it: the package, never the person."""

    code_id: int
    code: str
    product_code: str
    product_name: str
    lot_number: str
    expiry: dt.date | None
    place_code: str
    place_name: str
    dose_id: int | None = None


@dataclass(frozen=True)
class ReportRow:
    """A suspected adverse event report as the platforms receive it."""

    report_id: int
    number: str
    dose_id: int
    resident_id: int
    onset_at: dt.datetime
    discovered_at: dt.datetime
    reported_at: dt.datetime
    signs: tuple[str, ...]
    description: str
    serious: bool
    outcome: str
    classification: str
    status: str
    site_name: str = ""
    reporter_unit: str = ""


@dataclass(frozen=True)
class DoseRow:
    dose_id: int
    resident_id: int
    product_code: str
    product_name: str
    eu_product: str
    given_on: dt.date
    given_at: dt.datetime | None
    recorded_at: dt.datetime | None
    lot_number: str
    expiry: dt.date | None
    trace_code: str
    site_code: str
    site_name: str
    vaccinator: str
    injection_site: str
    dose_number: int | None
    is_booster: bool
    voided: bool
    void_reason: str = ""


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def urn(kind: str, value: str) -> str:
    """A stable ``urn:uuid`` for a resource within a bundle (the same person gives the same one)."""
    return f"urn:uuid:{uuid.uuid5(UUID_NAMESPACE, f'{kind}|{value}')}"


def id_document_system(id_type: str) -> str:
    return f"{SYSTEM_ID_DOCUMENT}/{id_type}"


def patient_search(p: PersonRow) -> str:
    return f"identifier={id_document_system(p.id_type)}|{p.id_number}"


def dose_search(dose_id: int) -> str:
    return f"identifier={SYSTEM_DOSE}|{dose_id}"


def site_search(code: str) -> str:
    return f"identifier={SYSTEM_SITE}|{code}"


def _meta(profile: str) -> dict[str, Any]:
    return {"meta": {"profile": [profile]}} if profile else {}


def patient(p: PersonRow, *, profile: str = "") -> dict[str, Any]:
    """The person with only what a receiver needs (PIPL: health data is sensitive): the ID document, name,
    sex, birth date and the division code of the address. No phone, no street address, no occupation."""
    r: dict[str, Any] = {
        "resourceType": "Patient",
        **_meta(profile),
        "identifier": [{"system": id_document_system(p.id_type), "value": p.id_number}],
        "name": [{"text": p.name}],
        "gender": SEX.get(p.sex, "unknown"),
    }
    if p.birth_date is not None:
        r["birthDate"] = p.birth_date.isoformat()
    if p.village_code:
        r["address"] = [{"extension": [{"url": EXT_DIVISION, "valueCode": p.village_code}]}]
    return r


def location(s: SiteRow, *, profile: str = "") -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "Location",
        **_meta(profile),
        "identifier": [{"system": SYSTEM_SITE, "value": s.code}],
        "status": "active",
        "name": s.name,
        "managingOrganization": {"reference": urn("Organization", s.code), "display": s.name},
    }
    address: dict[str, Any] = {"extension": [{"url": EXT_DIVISION, "valueCode": s.division_code}]}
    if s.address:
        address["text"] = s.address
    r["address"] = address
    return r


def organization(s: SiteRow, *, profile: str = "") -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        **_meta(profile),
        "identifier": [{"system": SYSTEM_SITE, "value": s.code}],
        "active": True,
        "name": s.name,
        "type": [{"text": "预防接种单位"}],
    }


def immunization(
    d: DoseRow, *, patient_ref: str, site_refs: bool = True, profile: str = ""
) -> dict[str, Any]:
    """The dose: completed, or entered-in-error once voided; the catalogue's product code (and the EU
    product code where there is one); lot, expiry and the traceability code; the moment; the site as
    location and performer; the dose number in ``protocolApplied``; the dose's stable identifier."""
    identifiers = [{"system": SYSTEM_DOSE, "value": str(d.dose_id)}]
    if d.trace_code:
        identifiers.append({"system": SYSTEM_TRACE_CODE, "value": d.trace_code})
    coding = [{"system": SYSTEM_PRODUCT, "code": d.product_code, "display": d.product_name or d.product_code}]
    if d.eu_product:
        coding.append({"system": SYSTEM_EU_PRODUCT, "code": d.eu_product})
    r: dict[str, Any] = {
        "resourceType": "Immunization",
        **_meta(profile),
        "identifier": identifiers,
        "status": "entered-in-error" if d.voided else "completed",
        "vaccineCode": {"coding": coding, "text": d.product_name or d.product_code},
        "patient": {"reference": patient_ref},
        "occurrenceDateTime": _iso(d.given_at) if d.given_at else d.given_on.isoformat(),
        "primarySource": True,
    }
    if d.voided and d.void_reason:
        r["statusReason"] = {"text": d.void_reason}
    if d.recorded_at is not None:
        r["recorded"] = _iso(d.recorded_at)
    if d.site_code and site_refs:
        r["location"] = {"reference": urn("Location", d.site_code), "display": d.site_name}
    elif d.site_name:
        r["location"] = {"display": d.site_name}
    if d.lot_number:
        r["lotNumber"] = d.lot_number
    if d.expiry is not None:
        r["expirationDate"] = d.expiry.isoformat()
    if d.injection_site:
        r["site"] = {"text": d.injection_site}
    performers: list[dict[str, Any]] = []
    if d.site_code:
        org = {"reference": urn("Organization", d.site_code)} if site_refs else {}
        performers.append({"actor": {**org, "display": d.site_name}})
    if d.vaccinator:
        performers.append(
            {
                "function": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0443", "code": "AP"}]
                },
                "actor": {"display": d.vaccinator},
            }
        )
    if performers:
        r["performer"] = performers
    if d.dose_number:
        applied: dict[str, Any] = {"doseNumberPositiveInt": d.dose_number}
        if d.is_booster:
            applied["series"] = "booster"
        r["protocolApplied"] = [applied]
    return r


# The report's outcome (转归) in R4's adverse-event-outcome codes.
AEFI_OUTCOME = {
    "unknown": "unknown",
    "recovered": "resolved",
    "improving": "recovering",
    "not_recovered": "ongoing",
    "sequelae": "resolvedWithSequelae",
    "death": "fatal",
}
AEFI_CLASSIFICATION_ZH = {
    "common": "一般反应",
    "abnormal": "异常反应",
    "coincidental": "偶合症",
    "quality": "疫苗质量事故",
    "programme_error": "接种事故",
    "psychogenic": "心因性反应",
    "undetermined": "待定",
}


def adverse_event(r: ReportRow, *, patient_ref: str, dose_ref: str = "", profile: str = "") -> dict[str, Any]:
    """A suspected adverse event following immunization (疑似预防接种异常反应) from a safety report: the
    report's number as the stable identifier (a change is sent as an update of the same resource), the
    signs, onset, discovery and report times, seriousness, outcome, and — once the expert panel classified it
    — the classification as the causality assessment of the suspected dose."""
    description = "、".join(r.signs) + (f"：{r.description}" if r.description else "")
    res: dict[str, Any] = {
        "resourceType": "AdverseEvent",
        **_meta(profile),
        "identifier": {"system": SYSTEM_AEFI, "value": r.number},
        "actuality": "potential",
        "category": [{"text": "疑似预防接种异常反应"}],
        "event": {"text": description or "疑似预防接种异常反应"},
        "subject": {"reference": patient_ref},
        "date": _iso(r.onset_at),
        "detected": _iso(r.discovered_at),
        "recordedDate": _iso(r.reported_at),
        "seriousness": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness",
                    "code": "serious" if r.serious else "non-serious",
                }
            ]
        },
        "outcome": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/adverse-event-outcome",
                    "code": AEFI_OUTCOME.get(r.outcome, "unknown"),
                }
            ]
        },
    }
    if dose_ref:
        suspect: dict[str, Any] = {"instance": {"reference": dose_ref}}
        if r.classification:
            suspect["causality"] = [
                {
                    "assessment": {
                        "coding": [
                            {
                                "system": SYSTEM_AEFI_CLASSIFICATION,
                                "code": r.classification,
                                "display": AEFI_CLASSIFICATION_ZH.get(r.classification, r.classification),
                            }
                        ]
                    },
                    "method": {"text": "专家组调查诊断"},
                }
            ]
        res["suspectEntity"] = [suspect]
    if r.site_name:
        res["location"] = {"display": r.site_name}
    return res


def aefi_search(number: str) -> str:
    return f"identifier={SYSTEM_AEFI}|{number}"


def code_search(code: str) -> str:
    return f"identifier={SYSTEM_TRACE_CODE}|{code}"


# The R4 Medication status of a code in each state: usable or not.
CODE_STATUS = {"in_stock": "active", "in_transit": "active"}
CODE_STATE_ZH = {
    "in_stock": "在库",
    "in_transit": "在途",
    "administered": "已接种",
    "wasted": "已损耗",
    "recalled": "已召回",
    "quarantined": "温度异常隔离",
}


def code_medication(c: CodeRow, *, state: str, at: dt.datetime, profile: str = "") -> dict[str, Any]:
    """A traceability code's state as the traceability platform receives it: the smallest package as a
    ``Medication`` identified by its 20-digit code (product, lot, expiry), its state and when it took it, where
    it is, and for an administered code the dose's identifier — no person."""
    extensions: list[dict[str, Any]] = [
        {
            "url": EXT_CODE_STATE,
            "valueCoding": {
                "system": SYSTEM_CODE_STATE,
                "code": state,
                "display": CODE_STATE_ZH.get(state, state),
            },
        },
        {"url": EXT_CODE_STATE_AT, "valueDateTime": _iso(at)},
    ]
    if c.place_code:
        extensions.append(
            {"url": EXT_CODE_PLACE, "valueIdentifier": {"system": SYSTEM_PLACE, "value": c.place_code}}
        )
    if state == "administered" and c.dose_id:
        extensions.append(
            {"url": EXT_CODE_DOSE, "valueIdentifier": {"system": SYSTEM_DOSE, "value": str(c.dose_id)}}
        )
    r: dict[str, Any] = {
        "resourceType": "Medication",
        **_meta(profile),
        "extension": extensions,
        "identifier": [{"system": SYSTEM_TRACE_CODE, "value": c.code}],
        "code": {
            "coding": [
                {
                    "system": SYSTEM_PRODUCT,
                    "code": c.product_code,
                    "display": c.product_name or c.product_code,
                }
            ],
            "text": c.product_name or c.product_code,
        },
        "status": CODE_STATUS.get(state, "inactive"),
    }
    batch: dict[str, Any] = {}
    if c.lot_number:
        batch["lotNumber"] = c.lot_number
    if c.expiry is not None:
        batch["expirationDate"] = c.expiry.isoformat()
    if batch:
        r["batch"] = batch
    return r


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` unchanged once its R4 model accepts it; raises ``ValueError`` (pydantic's
    ``ValidationError`` is one) naming what is wrong otherwise."""
    errors = validation_errors(resource)
    if errors:
        raise ValueError("；".join(errors))
    return resource


def validation_errors(resource: Any) -> list[str]:
    """Why ``resource`` is not a valid R4 resource (empty when it is). A Bundle is checked entry by entry:
    each entry's resource against its own model, and the Bundle's frame (type, fullUrl, request) against
    the Bundle model with the resources set aside — the same checks as the whole Bundle at once, at a
    fraction of the cost for a large one."""
    if not isinstance(resource, dict) or resource.get("resourceType") not in MODELS:
        kind = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
        return [f"不支持的资源类型：{kind}"]
    if resource["resourceType"] == "Bundle" and isinstance(resource.get("entry"), list):
        errors: list[str] = []
        frame_entries = []
        for i, e in enumerate(resource["entry"]):
            if not isinstance(e, dict):
                return [f"entry.{i}: 不是对象"]
            inner = e.get("resource")
            if inner is not None:
                errors += [f"entry.{i}.resource.{x}" for x in validation_errors(inner)]
            frame_entries.append({k: v for k, v in e.items() if k != "resource"})
        errors += _model_errors("Bundle", {**resource, "entry": frame_entries or None})
        return errors[:20]
    return _model_errors(resource["resourceType"], resource)


def _element_fields(model: Any) -> dict[str, tuple[Any, bool]]:
    """A model's complex elements by their JSON name: (the element's R4B model, whether it repeats)."""

    def find(tp: Any, repeats: bool) -> tuple[Any, bool] | None:
        if isinstance(tp, type) and hasattr(tp, "get_model_klass"):
            return tp.get_model_klass(), repeats
        origin = typing.get_origin(tp)
        for arg in typing.get_args(tp):
            found = find(arg, repeats or origin is list)
            if found is not None:
                return found
        return None

    out: dict[str, tuple[Any, bool]] = {}
    for name, field in model.model_fields.items():
        found = find(field.annotation, False)
        if found is not None:
            out[field.alias or name] = found
    return out


ELEMENT_FIELDS: dict[str, dict[str, tuple[Any, bool]]] = {}
# Elements already validated by their R4B model in this process, by (model, the element's exact value).
_ELEMENTS: dict[tuple[Any, str], Any] = {}
ELEMENTS_KEPT = 20_000


def _element(model: Any, value: Any) -> tuple[Any, bool]:
    """``value`` (a JSON object) validated by ``model``: the model instance, from the memo when this exact
    value was validated by this model before, and whether it was. The key is the value's ``repr``, which for
    the plain JSON values resources are made of (dicts, lists, str, int, float, bool, None) tells every two
    values apart (a dict's keys in another order only makes a second entry). Validation is a function of the
    value and the model alone (no element's check looks outside the element), so the memo answers exactly as
    the model would."""
    key = (model, repr(value))
    found = _ELEMENTS.get(key)
    if found is not None:
        return found, True
    found = model.model_validate(value)
    if len(_ELEMENTS) >= ELEMENTS_KEPT:
        _ELEMENTS.clear()
    _ELEMENTS[key] = found
    return found, False


# How often each (resource type, element) was found in the memo: [looked up, found]. An element whose values
# rarely repeat (a dose's identifiers, a person's reference) is left to the resource's model after the first
# MEMO_SAMPLE look-ups — the same validation by the same model, without keys that are never found again.
_MEMO_USE: dict[tuple[str, str], list[int]] = {}
MEMO_SAMPLE = 1_000


def _memoised(kind: str, name: str, model: Any, value: Any) -> Any:
    found, hit = _element(model, value)
    use = _MEMO_USE.get((kind, name))
    if use is None:
        use = _MEMO_USE[(kind, name)] = [0, 0]
    use[0] += 1
    use[1] += hit
    if use[0] == MEMO_SAMPLE and use[1] * 2 < use[0]:
        ELEMENT_FIELDS[kind].pop(name, None)  # from now on validated with the resource, by its model
    return found


def _validate(kind: str, resource: dict[str, Any]) -> None:
    """Validate ``resource`` with its R4B model, every time: its complex elements each by their own R4B
    model (``_element``: an element repeated across resources — the product's coding, the site's
    reference — is validated once per exact value), then the resource by its model with those validated
    elements (the resource's own checks: unknown or missing fields, primitive formats, choice types).
    pydantic's cost is per nested model, most of it in Python: the export's validation went from about 255 to
    about 155 µs of CPU per dose this way (docs/BENCHMARKS.md). The models' own per-instance checks have their
    field lists prepared once per class (``r4b.prepare``: the same answers, a third less time)."""
    if not _CHECKS_PREPARED:
        prepare_checks()
    model = MODELS[kind]
    fields = ELEMENT_FIELDS.get(kind)
    if fields is None:
        fields = ELEMENT_FIELDS[kind] = _element_fields(model)
    data: dict[str, Any] = {}
    for name, value in resource.items():
        spec = fields.get(name)
        if spec is None:
            data[name] = value
        elif spec[1] and type(value) is list:
            data[name] = [_memoised(kind, name, spec[0], v) if type(v) is dict else v for v in value]
        elif type(value) is dict:
            data[name] = _memoised(kind, name, spec[0], value)
        else:
            data[name] = value
    model.model_validate(data)


_CHECKS_PREPARED = False


def prepare_checks() -> None:
    """The R4B models exchange validates with, their checks' field lists prepared (``r4b``); once per
    process, before forking workers so that they inherit it."""
    global _CHECKS_PREPARED
    r4b.prepare(MODELS.values())
    _CHECKS_PREPARED = True


def _model_errors(kind: str, resource: dict[str, Any]) -> list[str]:
    if "entry" in resource and resource["entry"] is None:
        resource = {k: v for k, v in resource.items() if k != "entry"}
    try:
        _validate(kind, resource)
        return []
    except ValueError:  # pydantic's ValidationError is a ValueError
        pass
    # Refused: the whole resource again in one call, for the errors' full paths.
    try:
        MODELS[kind].model_validate(resource)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        errors = getattr(exc, "errors", None)
        if callable(errors):
            return [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in errors()][:20]
        return [str(exc)[:500]]
    return []


def entry(resource: dict[str, Any], *, full_url: str, method: str, url: str, if_none_exist: str = "") -> dict:
    request: dict[str, Any] = {"method": method, "url": url}
    if if_none_exist:
        request["ifNoneExist"] = if_none_exist
    return {"fullUrl": full_url, "resource": resource, "request": request}


def transaction(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def dose_entries(
    doses: list[tuple[DoseRow, str]],
    people: dict[int, PersonRow],
    sites: dict[str, SiteRow],
    *,
    with_patient: bool = True,
    profile: str = "",
) -> list[dict[str, Any]]:
    """The entries of one transaction for ``doses`` (each with its event: ``create`` → conditional create
    on the dose identifier, ``void``/``correct`` → conditional update), with each person and site once
    (conditional creates on their identifiers)."""
    out: list[dict[str, Any]] = []
    seen_people: set[int] = set()
    seen_sites: set[str] = set()
    for d, kind in doses:
        p = people[d.resident_id]
        if with_patient:
            patient_ref = urn("Patient", f"{p.id_type}|{p.id_number}")
            if d.resident_id not in seen_people:
                seen_people.add(d.resident_id)
                out.append(
                    entry(
                        patient(p, profile=profile),
                        full_url=patient_ref,
                        method="POST",
                        url="Patient",
                        if_none_exist=patient_search(p),
                    )
                )
        else:
            patient_ref = urn("Patient", f"{p.id_type}|{p.id_number}")
        site_refs = with_patient and d.site_code in sites
        if site_refs and d.site_code not in seen_sites:
            seen_sites.add(d.site_code)
            s = sites[d.site_code]
            out.append(
                entry(
                    organization(s, profile=profile),
                    full_url=urn("Organization", s.code),
                    method="POST",
                    url="Organization",
                    if_none_exist=site_search(s.code),
                )
            )
            out.append(
                entry(
                    location(s, profile=profile),
                    full_url=urn("Location", s.code),
                    method="POST",
                    url="Location",
                    if_none_exist=site_search(s.code),
                )
            )
        imm = immunization(d, patient_ref=patient_ref, site_refs=site_refs, profile=profile)
        if not with_patient:
            # The traceability platform follows codes, not people: the dose without the person.
            imm["patient"] = {"identifier": {"system": SYSTEM_DOSE, "value": f"person-of-{d.dose_id}"}}
        full = urn("Immunization", str(d.dose_id))
        if kind == "create":
            out.append(
                entry(
                    imm,
                    full_url=full,
                    method="POST",
                    url="Immunization",
                    if_none_exist=dose_search(d.dose_id),
                )
            )
        else:
            out.append(entry(imm, full_url=full, method="PUT", url=f"Immunization?{dose_search(d.dose_id)}"))
    return out


ISSUE_ZH = {
    "invalid": "内容不合规",
    "structure": "结构错误",
    "required": "缺少必填项",
    "value": "取值错误",
    "invariant": "违反约束",
    "security": "安全限制",
    "login": "需要登录",
    "unknown": "未知错误",
    "expired": "会话过期",
    "forbidden": "无权访问",
    "suppressed": "已屏蔽",
    "processing": "处理失败",
    "not-supported": "不支持",
    "duplicate": "重复记录",
    "multiple-matches": "匹配到多条记录",
    "not-found": "未找到",
    "deleted": "已删除",
    "too-long": "内容过长",
    "code-invalid": "代码无效",
    "extension": "扩展不被接受",
    "too-costly": "请求代价过高",
    "business-rule": "违反业务规则",
    "conflict": "版本冲突",
    "transient": "暂时性故障",
    "lock-error": "锁冲突",
    "no-store": "存储不可用",
    "exception": "服务异常",
    "timeout": "超时",
    "incomplete": "结果不完整",
    "throttled": "请求过于频繁",
    "informational": "提示",
}
SEVERITY_ZH = {"fatal": "致命", "error": "错误", "warning": "警告", "information": "提示"}


def outcome_zh(outcome: Any) -> str:
    """An OperationOutcome as one Chinese line per issue (the receiver's own diagnostics kept as sent)."""
    if not isinstance(outcome, dict) or outcome.get("resourceType") != "OperationOutcome":
        return ""
    lines = []
    for issue in outcome.get("issue") or []:
        severity = SEVERITY_ZH.get(issue.get("severity", ""), issue.get("severity", ""))
        code = issue.get("code", "")
        text = issue.get("diagnostics") or (issue.get("details") or {}).get("text") or ""
        where = "，".join(issue.get("expression") or issue.get("location") or [])
        line = f"{severity}：{ISSUE_ZH.get(code, code)}（{code}）"
        if where:
            line += f"，位置 {where}"
        if text:
            line += f"：{text}"
        lines.append(line)
    return "\n".join(lines)


def operation_outcome(code: str, diagnostics: str, *, severity: str = "error") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }

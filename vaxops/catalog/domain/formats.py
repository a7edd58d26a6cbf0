"""A forecast as data for others: a FHIR R4 ``ImmunizationRecommendation`` (built on ``fhir.resources``' R4
models, its ``R4B`` package — the library's default import is R5), and plain JSON."""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any, Final

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.immunizationrecommendation import (
    ImmunizationRecommendation,
    ImmunizationRecommendationRecommendation,
    ImmunizationRecommendationRecommendationDateCriterion,
)
from fhir.resources.R4B.reference import Reference

from .catalogue import ALL, Catalogue
from .forecast import Forecast, Status

__all__ = [
    "forecast_to_dict",
    "to_fhir_recommendation",
]


SNOMED: Final = "http://snomed.info/sct"
LOINC: Final = "http://loinc.org"
ATC: Final = "http://www.whocc.no/atc"
PRODUCT_SYSTEM: Final = "urn:vaxops:vaccine-product"
FORECAST_STATUS_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/immunization-recommendation-status"

_FORECAST_DISPLAY: Final = {
    "due": "Due",
    "overdue": "Overdue",
    "complete": "Complete",
    "contraindicated": "Contraindicated",
}


def _vaccine_concept(code: str, catalogue: Catalogue | None) -> CodeableConcept:
    product = catalogue.find_product(code) if catalogue else None
    coding = [Coding(system=PRODUCT_SYSTEM, code=code, display=product.name_en if product else None)]
    if product is not None and product.dcc_vp:
        system = ATC if product.dcc_vp[:1].isalpha() else SNOMED
        coding.append(Coding(system=system, code=product.dcc_vp))
    return CodeableConcept(coding=coding, text=product.label_zh if product is not None else None)


def _criterion(
    code: str, display: str, day: dt.date
) -> ImmunizationRecommendationRecommendationDateCriterion:
    return ImmunizationRecommendationRecommendationDateCriterion(
        code=CodeableConcept(coding=[Coding(system=LOINC, code=code, display=display)]),
        value=day,  # type: ignore[arg-type]  # FHIR dateTime takes a date; the annotation says datetime
    )


def to_fhir_recommendation(
    forecast: Forecast, *, patient_ref: str, catalogue: Catalogue | None = None
) -> dict[str, Any]:
    """A FHIR R4 ``ImmunizationRecommendation`` for the forecast (one recommendation entry).

    ``forecastStatus`` is ``contraindicated``, ``complete`` (nothing more due), ``overdue`` or ``due``
    (deferred and not-yet-due people are ``due`` with a later earliest date). Pass ``catalogue`` to add
    product names and DCC vaccine-type codings to ``vaccineCode``.
    """
    nd = forecast.next_dose
    if forecast.status is Status.CONTRAINDICATED:
        status = "contraindicated"
    elif nd is None:
        status = "complete"
    elif nd.overdue:
        status = "overdue"
    else:
        status = "due"
    codes = nd.allowed_products if nd else ((forecast.course_product,) if forecast.course_product else ())
    criteria = None
    if nd is not None:
        criteria = [
            _criterion("30981-5", "Earliest date to give", nd.earliest),
            _criterion("30980-7", "Date vaccine due", nd.recommended),
        ]
        if nd.latest is not None:
            criteria.append(_criterion("59777-3", "Latest date to give immunization", nd.latest))
    rec = ImmunizationRecommendationRecommendation(
        targetDisease=CodeableConcept(coding=[Coding(system=SNOMED, code="840539006", display="COVID-19")]),
        forecastStatus=CodeableConcept(
            coding=[Coding(system=FORECAST_STATUS_SYSTEM, code=status, display=_FORECAST_DISPLAY[status])],
            text=forecast.status_zh,
        ),
        vaccineCode=[_vaccine_concept(c, catalogue) for c in codes] or None,
        doseNumberPositiveInt=nd.number if nd is not None else None,
        series=("加强免疫" if nd.is_booster else "基础免疫") if nd is not None else None,
        seriesDosesPositiveInt=nd.series_doses if nd is not None and nd.series_doses else None,
        dateCriterion=criteria,
        forecastReason=[CodeableConcept(text=r) for r in forecast.reasons] or None,
    )
    resource = ImmunizationRecommendation(
        patient=Reference(reference=patient_ref),
        date=forecast.on,  # type: ignore[arg-type]  # as above
        recommendation=[rec],
    )
    # The model validated every element as it was built; its JSON is the resource (absent elements left out).
    out: dict[str, Any] = json.loads(resource.model_dump_json())
    return out


def _jsonable(value: Any) -> Any:
    if value is ALL:
        return "all"
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _jsonable(getattr(value, f.name)) for f in fields(value) if not f.name.startswith("_")
        }
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def forecast_to_dict(forecast: Forecast) -> dict[str, Any]:
    """The forecast as JSON-ready data: dates as ISO strings, enums as their values, tuples as lists."""
    data: dict[str, Any] = _jsonable(forecast)
    return data

"""A forecast as data for others: a FHIR R4 ``ImmunizationRecommendation``, and plain JSON."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any, Final

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


def _vaccine_concept(code: str, catalogue: Catalogue | None) -> dict[str, Any]:
    product = catalogue.find_product(code) if catalogue else None
    coding: list[dict[str, str]] = [
        {"system": PRODUCT_SYSTEM, "code": code, **({"display": product.name_en} if product else {})}
    ]
    if product is not None and product.dcc_vp:
        system = ATC if product.dcc_vp[:1].isalpha() else SNOMED
        coding.append({"system": system, "code": product.dcc_vp})
    concept: dict[str, Any] = {"coding": coding}
    if product is not None:
        concept["text"] = product.label_zh
    return concept


def _criterion(code: str, display: str, day: dt.date) -> dict[str, Any]:
    return {
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "value": day.isoformat(),
    }


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
    rec: dict[str, Any] = {
        "targetDisease": {"coding": [{"system": SNOMED, "code": "840539006", "display": "COVID-19"}]},
        "forecastStatus": {
            "coding": [
                {"system": FORECAST_STATUS_SYSTEM, "code": status, "display": _FORECAST_DISPLAY[status]}
            ],
            "text": forecast.status_zh,
        },
    }
    codes = nd.allowed_products if nd else ((forecast.course_product,) if forecast.course_product else ())
    if codes:
        rec["vaccineCode"] = [_vaccine_concept(c, catalogue) for c in codes]
    if nd is not None:
        rec["doseNumberPositiveInt"] = nd.number
        rec["series"] = "加强免疫" if nd.is_booster else "基础免疫"
        if nd.series_doses:
            rec["seriesDosesPositiveInt"] = nd.series_doses
        criteria = [
            _criterion("30981-5", "Earliest date to give", nd.earliest),
            _criterion("30980-7", "Date vaccine due", nd.recommended),
        ]
        if nd.latest is not None:
            criteria.append(_criterion("59777-3", "Latest date to give immunization", nd.latest))
        rec["dateCriterion"] = criteria
    if forecast.reasons:
        rec["forecastReason"] = [{"text": r} for r in forecast.reasons]
    return {
        "resourceType": "ImmunizationRecommendation",
        "patient": {"reference": patient_ref},
        "date": forecast.on.isoformat(),
        "recommendation": [rec],
    }


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

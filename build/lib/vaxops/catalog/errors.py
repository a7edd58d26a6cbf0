"""Stable error codes of catalog: the catalogue, schedules, question sets and forecasts.

A code names one kind of refusal for programs (the API's ``code``); the message beside it is for
people and may be reworded or translated. Values never change once clients may have seen them."""

from enum import StrEnum


class CatalogErrorCode(StrEnum):
    CATALOGUE_INVALID = "catalogue_invalid"
    FORECAST_BEFORE_BIRTH = "forecast_before_birth"
    FORECAST_DOSE_BEFORE_BIRTH = "forecast_dose_before_birth"
    FORECAST_DOSE_MALFORMED = "forecast_dose_malformed"
    PRODUCT_UNKNOWN = "product_unknown"
    QUESTION_SET_MISSING = "question_set_missing"

"""Stable error codes of clinic: a person's vaccination record: doses, screenings, contraindications.

A code names one kind of refusal for programs (the API's ``code``); the message beside it is for
people and may be reworded or translated. Values never change once clients may have seen them."""

from enum import StrEnum


class ClinicErrorCode(StrEnum):
    CONTRAINDICATION_ALREADY_LIFTED = "contraindication_already_lifted"
    CONTRAINDICATION_NOT_FOUND = "contraindication_not_found"
    DOSE_ALREADY_VOIDED = "dose_already_voided"
    DOSE_BEFORE_BIRTH = "dose_before_birth"
    DOSE_CORRECTION_EMPTY = "dose_correction_empty"
    DOSE_CORRECTION_LOCAL_ONLY = "dose_correction_local_only"
    DOSE_CORRECTION_AFTER_RECORD = "dose_correction_after_record"
    DOSE_DISPOSITION_REQUIRED = "dose_disposition_required"
    DOSE_DUPLICATE = "dose_duplicate"
    DOSE_IN_FUTURE = "dose_in_future"
    DOSE_NOT_FOUND = "dose_not_found"
    DOSE_PLACE_REQUIRED = "dose_place_required"
    DOSE_PLACE_TOO_LONG = "dose_place_too_long"
    DOSE_VOID_COUNTY_ONLY = "dose_void_county_only"
    SCREENING_INVALID = "screening_invalid"
    SCREENING_IN_FUTURE = "screening_in_future"
    TEMPERATURE_INVALID = "temperature_invalid"

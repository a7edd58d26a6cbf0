"""Stable error codes of the cold chain (readings, excursions and decisions)."""

from enum import StrEnum


class ColdchainErrorCode(StrEnum):
    UNIT_UNKNOWN = "unit_unknown"
    READING_INVALID = "reading_invalid"
    READINGS_TOO_MANY = "readings_too_many"
    EXCURSION_NOT_FOUND = "excursion_not_found"
    EXCURSION_STATUS_STEP = "excursion_status_step"
    DECISION_INVALID = "decision_invalid"
    WITNESS_REQUIRED = "witness_required"
    MANUAL_TOO_SOON = "manual_too_soon"
    CODES_IN_TRANSIT = "codes_in_transit"

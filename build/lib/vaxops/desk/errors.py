"""Stable machine codes of the desk's refusals (``{"code", "message", "field"}`` in the API).

A failed hard stop of the scan answers with its ``domain.CheckCode`` (``code_used``, ``screening``, …);
the codes here are the desk's other refusals. Clients and tests match the code, never the sentence, so a
message can be reworded or translated freely. The values never change once released."""

from __future__ import annotations

import enum


class DeskError(enum.StrEnum):
    # Who is at the desk
    NOT_STAFF = "desk_not_staff"
    NOT_ASSIGNED = "desk_not_assigned"
    SESSION_NOT_OPEN = "session_not_open"
    SITE_WITHOUT_STOCK_PLACE = "site_without_stock_place"
    SITE_OUT_OF_SCOPE = "site_out_of_scope"
    SITE_NOT_FOUND = "site_not_found"
    SESSION_NOT_FOUND = "session_not_found"
    SESSION_NOT_TODAY = "session_not_today"
    ROLE_FORBIDDEN = "role_forbidden"
    # Registration (登记台)
    SCAN_EMPTY = "scan_empty"
    QR_INVALID = "qr_invalid"
    DOCUMENT_INVALID = "document_invalid"
    RESIDENT_NOT_FOUND = "resident_not_found"
    NOT_CHECKED_IN = "not_checked_in"
    # Informed consent (知情同意)
    CONSENT_TEXT_MISSING = "consent_text_missing"
    SIGNER_NAME_MISSING = "signer_name_missing"
    REFUSAL_REASON_MISSING = "refusal_reason_missing"
    SIGNATURE_MISSING = "signature_missing"
    SIGNATURE_TOO_LARGE = "signature_too_large"
    # Recording a dose (登记接种)
    CLIENT_ID_MISSING = "client_id_missing"
    CLIENT_ID_REUSED = "client_id_reused"
    RECIPIENT_NOT_CONFIRMED = "recipient_not_confirmed"
    INJECTION_SITE_INVALID = "injection_site_invalid"
    DOSE_ALREADY_TODAY = "dose_already_today"
    STOCK_SHORT = "stock_short"
    DOSE_NOT_FOUND = "dose_not_found"
    # Observation (留观)
    OBSERVATION_NOT_FOUND = "observation_not_found"
    OBSERVATION_RELEASED = "observation_released"
    OBSERVATION_NOT_OVER = "observation_not_over"
    SEVERITY_INVALID = "severity_invalid"
    DESCRIPTION_MISSING = "description_missing"

"""Stable error codes of vaccine safety (reports of suspected adverse events, hospitals, lot holds, claims).

A code names one kind of refusal for programs (the API's ``code``); the message beside it is for people and may
be reworded or translated. Values never change once clients may have seen them."""

from enum import StrEnum


class SafetyErrorCode(StrEnum):
    DOSE_NOT_FOUND = "aefi_dose_not_found"
    DOSE_VOIDED = "aefi_dose_voided"
    REPORT_NOT_FOUND = "aefi_report_not_found"
    NOTE_ALREADY_REPORTED = "aefi_note_already_reported"
    NOTE_NOT_FOUND = "aefi_note_not_found"
    SIGNS_MISSING = "aefi_signs_missing"
    CRITERION_UNKNOWN = "aefi_criterion_unknown"
    ONSET_INVALID = "aefi_onset_invalid"
    OUTCOME_UNKNOWN = "aefi_outcome_unknown"
    REPORTER_MISSING = "aefi_reporter_missing"
    STATUS_MOVE = "aefi_status_move"
    CLASSIFICATION_UNKNOWN = "aefi_classification_unknown"
    PANEL_MEMBERS_MISSING = "aefi_panel_members_missing"
    DIAGNOSIS_MISSING = "aefi_diagnosis_missing"
    HOSPITAL_NOT_FOUND = "hospital_not_found"
    NO_PAIRED_HOSPITAL = "hospital_not_paired"
    HOSPITAL_CASE_NOT_FOUND = "hospital_case_not_found"
    HOSPITAL_CASE_STATE = "hospital_case_state"
    TREATMENT_MISSING = "treatment_missing"
    LOT_HOLD_NOT_FOUND = "lot_hold_not_found"
    LOT_HOLD_STATE = "lot_hold_state"
    LOT_RELEASE_UNCLASSIFIED = "lot_release_unclassified"
    CLAIM_AMOUNT_INVALID = "claim_amount_invalid"
    CLAIM_KIND_UNKNOWN = "claim_kind_unknown"
    CLAIM_NOT_FOUND = "claim_not_found"
    CLAIM_STATE = "claim_state"
    RATE_INVALID = "background_rate_invalid"
    RESCUE_NOT_FROM_HOSPITAL = "rescue_not_from_hospital"
    AMBULANCE_MODE_UNKNOWN = "ambulance_mode_unknown"
    AMBULANCE_PHONE_MISSING = "ambulance_phone_missing"
    SESSION_NOT_FOUND = "cover_session_not_found"
    RESCUE_ROLE_MISSING = "rescue_role_missing"

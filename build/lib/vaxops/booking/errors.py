"""Stable error codes of booking: appointments, the waiting list and the self-service door.

A code names one kind of refusal for programs (the API's ``code``); the message beside it is for
people and may be reworded or translated. Values never change once clients may have seen them."""

from enum import StrEnum


class BookingErrorCode(StrEnum):
    ALREADY_BOOKED = "already_booked"
    APPOINTMENT_NOT_CANCELLABLE = "appointment_not_cancellable"
    APPOINTMENT_NOT_CHECKABLE = "appointment_not_checkable"
    APPOINTMENT_NOT_FOUND = "appointment_not_found"
    APPOINTMENT_STATUS_UNKNOWN = "appointment_status_unknown"
    CHANNEL_UNKNOWN = "channel_unknown"
    CHECKIN_WRONG_DAY = "checkin_wrong_day"
    DAYS_INVALID = "days_invalid"
    GROUP_BOOKING_OTHER_EMPLOYER = "group_booking_other_employer"
    PHONE_INVALID = "phone_invalid"
    SELF_MISMATCH = "self_mismatch"
    SELF_TOKEN_EXPIRED = "self_token_expired"  # noqa: S105 (a code, not a secret)
    SELF_TOKEN_INVALID = "self_token_invalid"  # noqa: S105 (a code, not a secret)
    SELF_TOKEN_MISSING = "self_token_missing"  # noqa: S105 (a code, not a secret)
    SESSION_NO_SLOTS = "session_no_slots"
    SLOT_FULL = "slot_full"
    SLOT_NOT_FOUND = "slot_not_found"
    SLOT_PAST = "slot_past"
    SLOT_REQUIRED = "slot_required"
    WAITLIST_DUPLICATE = "waitlist_duplicate"
    WALK_IN_ENDED = "walk_in_ended"
    WALK_IN_NOT_TODAY = "walk_in_not_today"
    # Not eligible on the slot's day: ``not_eligible_`` and the booking rule's verdict (``not_eligible_for``).
    NOT_ELIGIBLE_NOT_DUE = "not_eligible_not_due"
    NOT_ELIGIBLE_NO_OPEN_PHASE = "not_eligible_no_open_phase"
    NOT_ELIGIBLE_NO_PHASE = "not_eligible_no_phase"
    NOT_ELIGIBLE_DEFERRED = "not_eligible_deferred"
    NOT_ELIGIBLE_CONTRAINDICATED = "not_eligible_contraindicated"
    NOT_ELIGIBLE_COMPLETE = "not_eligible_complete"


def not_eligible_for(verdict: str) -> BookingErrorCode:
    """The code of a booking refused for the eligibility ``verdict`` (a ``catalog.domain.EligibilityCode``
    other than ``allowed``): ``not_eligible_not_due`` …"""
    return BookingErrorCode(f"not_eligible_{verdict}")

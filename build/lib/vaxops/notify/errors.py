"""Stable error codes of notify: messages and one-time codes.

A code names one kind of refusal for programs (the API's ``code``); the message beside it is for
people and may be reworded or translated. Values never change once clients may have seen them."""

from enum import StrEnum


class NotifyErrorCode(StrEnum):
    OTP_EXPIRED = "otp_expired"
    OTP_NOT_REQUESTED = "otp_not_requested"
    OTP_TOO_MANY_ATTEMPTS = "otp_too_many_attempts"
    OTP_TOO_MANY_SENT = "otp_too_many_sent"
    OTP_TOO_SOON = "otp_too_soon"
    OTP_USED = "otp_used"
    OTP_WRONG = "otp_wrong"

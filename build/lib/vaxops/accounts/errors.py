"""Stable error codes of accounts: users and API tokens.

A code names one kind of refusal for programs (the API's ``code``); the message beside it is for
people and may be reworded or translated. Values never change once clients may have seen them."""

from enum import StrEnum


class AccountsErrorCode(StrEnum):
    TOKEN_DAYS_INVALID = "token_days_invalid"  # noqa: S105 (a code, not a secret)
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 (a code, not a secret)

"""Stable error codes of the exchange. Values never change once clients may have seen them."""

from enum import StrEnum


class ExchangeErrorCode(StrEnum):
    BUNDLE_INVALID = "exchange_bundle_invalid"
    RESOURCE_INVALID = "exchange_resource_invalid"
    FILE_UNREADABLE = "exchange_file_unreadable"
    SINCE_INVALID = "exchange_since_invalid"
    REVIEW_UNMATCHED = "exchange_review_unmatched"
    REVIEW_NOT_FOUND = "exchange_review_not_found"

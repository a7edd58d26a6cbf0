"""Stable error codes of the monthly settlement. Values never change once clients may have seen them."""

from enum import StrEnum


class SettlementErrorCode(StrEnum):
    MONTH_INVALID = "settlement_month_invalid"
    RULE_MISSING = "settlement_rule_missing"
    PRICE_MISSING = "settlement_price_missing"
    PRICE_INVALID = "settlement_price_invalid"
    VERSION_SETTLED = "settlement_version_settled"
    STATUS_MOVE = "settlement_status_move"
    FROZEN = "settlement_frozen"
    PAYMENT_MISSING = "settlement_payment_missing"
    NOT_FOUND = "settlement_not_found"
    SITE_NOT_FOUND = "settlement_site_not_found"

"""Stable error codes of certs: vaccination certificates and signing keys.

A code names one kind of refusal for programs (the API's ``code``); the message beside it is for
people and may be reworded or translated. Values never change once clients may have seen them."""

from enum import StrEnum


class CertsErrorCode(StrEnum):
    CERTIFICATE_NOT_FOUND = "certificate_not_found"
    CERTIFICATE_REVOKED = "certificate_revoked"
    CERT_DAYS_INVALID = "cert_days_invalid"
    CERT_NO_DOSES = "cert_no_doses"
    CERT_PAYLOAD_INVALID = "cert_payload_invalid"
    CERT_PRODUCT_NO_DCC = "cert_product_no_dcc"
    FONT_MISSING = "font_missing"
    SIGNING_CERTIFICATE_DUPLICATE = "signing_certificate_duplicate"
    SIGNING_CERTIFICATE_EXPIRED = "signing_certificate_expired"
    SIGNING_CERTIFICATE_INVALID = "signing_certificate_invalid"
    SIGNING_KEY_ENV_MISSING = "signing_key_env_missing"
    SIGNING_KEY_FILE_MISSING = "signing_key_file_missing"
    SIGNING_KEY_INVALID = "signing_key_invalid"
    SIGNING_KEY_NOT_FOUND = "signing_key_not_found"
    SIGNING_KEY_NO_PRIVATE = "signing_key_no_private"
    SIGNING_KEY_REF_INVALID = "signing_key_ref_invalid"
    SIGNING_KEY_REF_REQUIRED = "signing_key_ref_required"
    SIGNING_KEY_REVOKED = "signing_key_revoked"
    SIGNING_KEY_UNREADABLE = "signing_key_unreadable"
    SIGNING_NOT_CONFIGURED = "signing_not_configured"

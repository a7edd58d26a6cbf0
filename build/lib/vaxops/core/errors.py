"""Errors that carry a message fit to show a user (Chinese first), and a stable code for programs.

Every refusal is raised with a ``code`` from its app's ``errors.py`` (a ``StrEnum``: ``SupplyErrorCode.CODE_UNKNOWN``,
``CoreErrorCode.ROLE_FORBIDDEN`` …) and a message marked for translation. The API answers
``{"code", "message", "field"}``; clients and tests match the code, never the sentence.
"""

import importlib
import importlib.util
from enum import Enum, StrEnum


class CoreErrorCode(StrEnum):
    """The kernel's codes: the defaults of the error classes, the answers of the middleware and the API's
    handlers, and the refusals every app shares (a role without the permission, a record out of scope …)."""

    # The class defaults; a refusal raised in product code names something more precise.
    ERROR = "error"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    RATE_LIMITED = "rate_limited"
    # Answers of the API's handlers and the middleware.
    INVALID_REQUEST = "invalid_request"
    INVALID_CHARACTERS = "invalid_characters"
    DB_UNAVAILABLE = "db_unavailable"
    TOO_LARGE = "too_large"
    # Shared refusals.
    ROLE_FORBIDDEN = "role_forbidden"
    OUT_OF_SCOPE = "out_of_scope"
    REASON_REQUIRED = "reason_required"
    REASON_TOO_LONG = "reason_too_long"
    PURPOSE_REQUIRED = "purpose_required"
    DATE_INVALID = "date_invalid"
    DATE_OUT_OF_RANGE = "date_out_of_range"
    OFFSET_INVALID = "offset_invalid"
    LIMIT_INVALID = "limit_invalid"
    FILE_EMPTY = "file_empty"
    XLSX_UNREADABLE = "xlsx_unreadable"
    XLSX_INFLATED_TOO_LARGE = "xlsx_inflated_too_large"
    XLSX_COMPRESSION_SUSPICIOUS = "xlsx_compression_suspicious"
    IDEMPOTENCY_KEY_TOO_LONG = "idempotency_key_too_long"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    USER_NOT_FOUND = "user_not_found"


class VaxOpsError(Exception):
    """A refusal the user can act on; ``message`` is shown as is, ``code`` (a member of an app's
    ``*ErrorCode`` enum, which is a ``str``) tells programs which refusal it is."""

    code: str = CoreErrorCode.ERROR

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class PermissionDenied(VaxOpsError):
    code = CoreErrorCode.FORBIDDEN


class NotFound(VaxOpsError):
    code = CoreErrorCode.NOT_FOUND


class ValidationFailed(VaxOpsError):
    code = CoreErrorCode.INVALID


class RateLimited(VaxOpsError):
    """Too many requests from one client address, or about one person, in a window: HTTP 429.
    ``retry_after`` is how many seconds remain in the window."""

    code = CoreErrorCode.RATE_LIMITED
    status = 429

    def __init__(
        self, message: str, *, retry_after: int = 60, code: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(message, code=code, field=field)
        self.retry_after = retry_after


# Enums whose codes reach clients but live outside an ``errors`` module (``register_codes``).
_registered: list[type[Enum]] = []


def register_codes(*enums: type[Enum]) -> None:
    """Add code enums kept elsewhere than an app's ``errors`` module (the desk's hard stops) to
    :func:`error_code_enums`."""
    for enum in enums:
        if enum not in _registered:
            _registered.append(enum)


def error_code_enums() -> list[type[Enum]]:
    """Every code enum: core's, each installed app's ``errors`` module's ``StrEnum`` classes (in
    ``INSTALLED_APPS`` order), then the registered ones. Needs the app registry to be ready."""
    from django.apps import apps

    found: list[type[Enum]] = [CoreErrorCode]
    for config in apps.get_app_configs():
        name = f"{config.name}.errors"
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        for value in vars(module).values():
            is_codes = isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum
            if is_codes and value not in found:
                found.append(value)
    return found + [e for e in _registered if e not in found]


def error_codes() -> list[str]:
    """Every code a refusal can carry, each once, in :func:`error_code_enums` order."""
    seen: dict[str, None] = {}
    for enum in error_code_enums():
        for member in enum:
            seen.setdefault(str(member.value), None)
    return list(seen)

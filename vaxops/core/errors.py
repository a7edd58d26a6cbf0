"""Errors that carry a message fit to show a user (Chinese first)."""


class VaxOpsError(Exception):
    """A refusal the user can act on; ``message`` is shown as is."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class PermissionDenied(VaxOpsError):
    code = "forbidden"


class NotFound(VaxOpsError):
    code = "not_found"


class ValidationFailed(VaxOpsError):
    code = "invalid"


class RateLimited(VaxOpsError):
    """Too many requests from one client address, or about one person, in a window: HTTP 429.
    ``retry_after`` is how many seconds remain in the window."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int = 60, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after

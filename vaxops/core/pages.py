"""A service's refusal (``VaxOpsError``) shown to a person: one page or one message, one status rule.

Every server-rendered view that catches a ``VaxOpsError`` answers through one of these, so the same refusal
has the same HTTP status on every page and in the API (``vaxops.api.vaxops_error``):

- ``error_page(request, exc)`` renders ``error.html`` with the Chinese message (or another template, with
  ``context``; the message is in the context as ``message`` and as ``error``), with ``error_status(exc)``
  unless ``status`` is given;
- ``message_error(request, exc)`` puts the message among the next page's messages (for a view that
  redirects after a POST).
"""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render

from .errors import NotFound, PermissionDenied, RateLimited, VaxOpsError


def error_status(exc: VaxOpsError) -> int:
    """429 for ``RateLimited``, 404 for ``NotFound`` (or the code ``not_found``), 403 for
    ``PermissionDenied`` (or the code ``forbidden``), 400 for any other refusal."""
    if isinstance(exc, RateLimited):
        return exc.status
    if isinstance(exc, NotFound) or exc.code == "not_found":
        return 404
    if isinstance(exc, PermissionDenied) or exc.code == "forbidden":
        return 403
    return 400


def error_page(
    request,
    exc: VaxOpsError,
    *,
    template: str = "error.html",
    context: dict | None = None,
    status: int | None = None,
) -> HttpResponse:
    """``template`` rendered with ``context`` and the refusal's message (as ``message`` and ``error``), with
    ``status`` or else ``error_status(exc)``."""
    ctx = {"message": exc.message, "error": exc.message, **(context or {})}
    return render(request, template, ctx, status=status if status is not None else error_status(exc))


def message_error(request, exc: VaxOpsError) -> None:
    """The refusal's message shown as an error on the next page the user sees."""
    messages.error(request, exc.message)

"""A service's refusal (``VaxOpsError``) shown to a person: as a page, as a message after a redirect, or on
the form it concerns — with one status rule.

Every server-rendered view that catches a ``VaxOpsError`` answers through one of these, so the same refusal
has the same HTTP status on every page as in the API (``vaxops.api.vaxops_error``):

- ``error_page(request, exc)`` renders ``error.html`` with the Chinese message, or another ``template`` with
  ``context`` (the message is in the context as both ``message`` and ``error``), with ``status`` if given,
  else ``error_status(exc)``;
- ``message_error(request, exc)`` puts the message among the next page's messages (a view that redirects
  after a POST);
- ``form_error(form, exc)`` adds the message to the form, on the refusal's ``field`` when the form has it.

``exc`` may also be a plain message (a refusal the view itself makes): its status is then 400 unless given.
"""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render

from .errors import NotFound, PermissionDenied, RateLimited, VaxOpsError


def error_status(exc: VaxOpsError | str) -> int:
    """429 for ``RateLimited``, 404 for ``NotFound`` (or the code ``not_found``), 403 for
    ``PermissionDenied`` (or the code ``forbidden``), 400 for any other refusal or a plain message."""
    if isinstance(exc, RateLimited):
        return exc.status
    if isinstance(exc, NotFound) or getattr(exc, "code", None) == "not_found":
        return 404
    if isinstance(exc, PermissionDenied) or getattr(exc, "code", None) == "forbidden":
        return 403
    return 400


def _text(exc: VaxOpsError | str) -> str:
    return exc.message if isinstance(exc, VaxOpsError) else str(exc)


def error_page(
    request,
    exc: VaxOpsError | str,
    *,
    template: str = "error.html",
    context: dict | None = None,
    status: int | None = None,
) -> HttpResponse:
    """``template`` rendered with ``context`` and the refusal's message (as ``message`` and ``error``), with
    ``status`` or else ``error_status(exc)``."""
    text = _text(exc)
    ctx = {**(context or {}), "message": text, "error": text}
    return render(request, template, ctx, status=status if status is not None else error_status(exc))


def message_error(request, exc: VaxOpsError | str) -> None:
    """The refusal's message shown as an error on the next page the user sees."""
    messages.error(request, _text(exc))


def form_error(form: forms.Form, exc: VaxOpsError) -> None:
    """The refusal's message on ``form``: on its ``field`` when the form has that field, else on the form."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)

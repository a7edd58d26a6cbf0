"""Input of the desk pages: the ids a screen is shown for, from its address or a posted form."""

from __future__ import annotations

from django import forms

from vaxops.core.bounds import BIGINT_MAX


class _Id(forms.IntegerField):
    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, min_value=1, max_value=BIGINT_MAX, **kwargs)


class ShownForm(forms.Form):
    """Which person, screening record, consent or observation a desk screen shows. A missing or malformed
    id shows nothing in particular (``None``), as the address is typed or bookmarked by people."""

    resident = _Id()
    record = _Id()
    done = _Id()
    obs = _Id()
    r = _Id()


def shown(data, name: str) -> int | None:
    """The id ``name`` from ``data`` (``request.GET``, ``request.POST`` or a signed ticket), or ``None``."""
    form = ShownForm({name: data.get(name)} if hasattr(data, "get") else {})
    if not form.is_valid():
        return None
    return form.cleaned_data[name]

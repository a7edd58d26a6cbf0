"""Form fields every app's HTML forms share: record ids and ticked lists, held to the column bounds of
``core.bounds`` (a number past 64 bits is "no id", never an overflowing lookup)."""

from django import forms

from .bounds import BIGINT_MAX, parse_int


class IdField(forms.IntegerField):
    """A record id (1 … 2⁶³−1) picked in a form or a query string; optional by default."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(min_value=1, max_value=BIGINT_MAX, **kwargs)


class IdListField(forms.Field):
    """The ids ticked in a list (one name repeated): the whole numbers among the values, at most ``limit``
    of them. A value that is not an id is dropped (only a tampered form sends one)."""

    widget = forms.MultipleHiddenInput

    def __init__(self, *, limit: int, **kwargs):
        kwargs.setdefault("required", False)
        self.limit = limit
        super().__init__(**kwargs)

    def to_python(self, value) -> list[int]:
        ids = (parse_int(v, low=1) for v in (value or []))
        return [n for n in ids if n is not None][: self.limit]


def form_values(form: forms.Form) -> dict:
    """Every field of the bound ``form`` with its cleaned value, ``None`` where the value was missing or did
    not parse (the view then says in its own words which field to fill)."""
    form.is_valid()
    return {name: form.cleaned_data.get(name) for name in form.fields}

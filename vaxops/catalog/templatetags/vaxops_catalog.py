"""``{{ code|vaccine }}`` and ``{{ codes|vaccines }}``: products by the short Chinese names nurses know."""

from django import template

from vaxops.catalog.selectors import product_short_name, product_short_names

register = template.Library()


def _code(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else getattr(value, "code", "") or str(value)


@register.filter
def vaccine(value) -> str:
    """A product code, a catalogue ``Product`` row or a domain product → its short name (国药北京…)."""
    return product_short_name(_code(value))


@register.filter
def vaccines(values) -> str:
    return product_short_names(_code(v) for v in (values or ()))

"""Template helpers for a front end without inline styles (a Content-Security-Policy forbids them)."""

from django import template

register = template.Library()


@register.filter
def pct_class(value) -> str:
    """``pct-N`` for a percentage (rounded, kept within 0–100): the stylesheet sets ``width:N%`` for each, so a
    progress or bar width needs no ``style`` attribute."""
    try:
        n = round(float(value))
    except (TypeError, ValueError):
        n = 0
    return f"pct-{min(max(n, 0), 100)}"

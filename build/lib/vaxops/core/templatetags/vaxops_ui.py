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


@register.simple_tag
def echarts_url() -> str:
    """The URL of the ECharts library installed from npm, or "" when it is not installed (the page then shows
    its tables only, with ``vendor.MISSING_MESSAGE``)."""
    from vaxops.core.vendor import ECHARTS, vendor_url

    return vendor_url(ECHARTS) or ""


@register.simple_tag
def echarts_missing_message() -> str:
    from vaxops.core.vendor import MISSING_MESSAGE

    return MISSING_MESSAGE


@register.simple_tag(takes_context=True)
def ways_back(context) -> list[tuple[str, str]]:
    """What to do next on an error page: ``[(label, url), …]`` fitting the path that failed."""
    from vaxops.core.errorpages import ways_back as _ways_back

    request = context.get("request")
    return _ways_back(getattr(request, "path", "") or "")

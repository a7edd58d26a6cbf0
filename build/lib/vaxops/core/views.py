"""Pages of the shared kernel."""

from django.shortcuts import render
from django.utils.translation import gettext as _


def csrf_failure(request, reason: str = ""):
    """A refused form (CSRF check failed) in our own page: Django's default one carries an inline stylesheet,
    which the Content-Security-Policy blocks."""
    message = _("页面已过期或请求来源无法核实，请返回上一页刷新后再提交。")
    return render(request, "error.html", {"message": message}, status=403)

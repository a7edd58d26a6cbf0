"""What a person can do next on an error page (404, 403, a refusal shown by ``error.html``): the way back that
fits where the broken link pointed. A stale desk link leads back to the desk's queue, a resident's link to the
booking door, anything else to the home page. Route names are strings here (no app is imported)."""

import contextlib

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

# (path prefix, route name, label) — the first prefix that matches wins.
_WAYS_BACK: tuple[tuple[str, str, str], ...] = (
    ("/desk/", "desk:home", "回到接种台的队列"),
    ("/book/", "booking:book", "重新开始预约"),
    ("/booking/", "booking:door", "回到预约"),
    ("/verify/", "certs:verify", "重新查验凭证"),
    ("/residents/", "registry:residents", "回到居民查询"),
    ("/reports/", "reports:dashboard", "回到接种进度看板"),
    ("/supply/", "supply:overview", "回到疫苗供应"),
)


def ways_back(path: str) -> list[tuple[str, str]]:
    """(label, url) pairs, the most fitting first, the home page last."""
    found: list[tuple[str, str]] = []
    for prefix, name, label in _WAYS_BACK:
        if path.startswith(prefix):
            with contextlib.suppress(NoReverseMatch):
                found.append((_(label), reverse(name)))
            break
    found.append((_("返回首页"), reverse("home")))
    return found

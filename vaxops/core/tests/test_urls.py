"""The site's route names: every page of an app is named inside the app's namespace, and the public paths stay
what they were before the names were namespaced (bookmarks, printed QR codes and links in text messages)."""

import pytest
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, resolve, reverse

# Names Django itself refers to (LOGIN_URL, LOGIN_REDIRECT_URL, LOGOUT_REDIRECT_URL; the language switch).
UN_NAMESPACED = {"home", "login", "logout", "set_language"}

APP_NAMESPACES = {
    "registry",
    "audit",
    "catalog",
    "clinic",
    "desk",
    "campaign",
    "supply",
    "sites",
    "booking",
    "certs",
    "reports",
    "coldchain",
    "safety",
    "exchange",
    "settlement",
    "field",
}


def _routes(patterns=None, prefix="", namespace=""):
    """(path pattern, namespaced name or bare name) of every named route, walking the includes."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(x for x in (namespace, p.namespace or "") if x)
            yield from _routes(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern) and p.name:
            yield prefix + str(p.pattern), f"{namespace}:{p.name}" if namespace else p.name


class TestNamespaces:
    def test_it_namespaces_every_named_route_but_the_allow_list(self):
        bare = {name for _, name in _routes() if ":" not in name}
        assert bare == UN_NAMESPACED

    def test_it_gives_each_app_its_namespace(self):
        used = {name.split(":")[0] for _, name in _routes() if ":" in name}
        assert used >= APP_NAMESPACES
        assert used - APP_NAMESPACES == {"admin", "api"}  # Django's admin, django-ninja's API

    def test_it_keeps_no_old_flat_names(self):
        for old in (
            "supply-lot",
            "resident",
            "booking-cancel",
            "desk-checkin",
            "record-private",
            "certs-mine",
        ):
            with pytest.raises(NoReverseMatch):
                reverse(old)


@pytest.mark.parametrize(
    ("name", "args", "path"),
    [
        ("home", [], "/"),
        ("login", [], "/accounts/login/"),
        ("logout", [], "/accounts/logout/"),
        ("registry:residents", [], "/residents/"),
        ("registry:resident", [7], "/residents/7/"),
        ("registry:import-errors", [3], "/residents/import/3/errors.xlsx"),
        ("audit:events", [], "/audit/"),
        ("catalog:catalogue", [], "/catalog/"),
        ("clinic:resident", [5], "/clinic/residents/5/"),
        ("clinic:contraindication-lift", [2], "/clinic/contraindications/2/lift/"),
        ("clinic:dose-correct", [3], "/clinic/doses/3/correct/"),
        ("desk:home", [], "/desk/"),
        ("desk:checkin", [4], "/desk/4/checkin/"),
        ("desk:consent", [4, 9], "/desk/4/consent/9/"),
        ("desk:observation-reaction", [4, 8], "/desk/4/observation/8/reaction/"),
        ("desk:record", [6], "/desk/doses/6/record/"),
        ("desk:record-private", ["abc"], "/r/abc/"),
        ("desk:record-private-revoke", ["abc"], "/r/abc/revoke/"),
        ("campaign:mobilisation-export", [], "/mobilisation/export.xlsx"),
        ("supply:overview", [], "/supply/"),
        ("supply:lot", [1], "/supply/lots/1/"),
        ("supply:code", ["8300000000000000000001"], "/supply/codes/8300000000000000000001/"),
        ("supply:person-codes", [5], "/supply/residents/5/codes/"),
        ("coldchain:unit", ["S1-F1"], "/coldchain/units/S1-F1/"),
        ("coldchain:manual-log", ["S1-F1"], "/coldchain/units/S1-F1/log/"),
        ("safety:session-cover", [3], "/safety/sessions/3/cover/"),
        ("sites:list", [], "/sites/"),
        ("sites:session", [3], "/sites/sessions/3/"),
        ("sites:site", ["QX-S001"], "/sites/QX-S001/"),
        ("booking:door", [], "/booking/"),
        ("booking:cancel", [2], "/booking/appointments/2/cancel/"),
        ("booking:book", [], "/book/"),
        ("booking:book-verify", [], "/book/verify/"),
        ("certs:staff-pdf", [5, 2], "/certs/residents/5/certificates/2.pdf"),
        ("certs:mine", ["tok"], "/certs/tok/"),
        ("certs:verify", [], "/verify/"),
        ("exchange:overview", [], "/exchange/"),
        ("exchange:site", [4], "/exchange/sites/4/"),
        ("exchange:retry", [], "/exchange/retry/"),
        ("exchange:reviews", [], "/exchange/reviews/"),
        ("settlement:county", [], "/settlement/"),
        ("settlement:statement", [3], "/settlement/statements/3/"),
        ("settlement:site", ["QX-S001"], "/settlement/sites/QX-S001/"),
        ("settlement:summary-pdf", ["2026-11"], "/settlement/months/2026-11/summary.pdf"),
        ("field:training", [], "/field/training/"),
        ("field:course", [4], "/field/training/4/"),
        ("field:mobile", [], "/field/mobile/"),
        ("field:mobile-plan", ["M001"], "/field/mobile/M001/plan/"),
        ("field:session-stock", [3], "/field/sessions/3/stock/"),
        ("field:notice", ["QX-S001"], "/field/notice/QX-S001/"),
        ("field:notice-pdf", ["QX-S001"], "/field/notice/QX-S001/notice.pdf"),
        ("field:grid", [], "/field/grid/"),
        ("field:grid-list", [2], "/field/grid/lists/2/"),
        ("field:grid-overdue", [], "/field/grid/overdue/"),
    ],
)
def test_it_keeps_the_public_paths(name, args, path):
    assert reverse(name, args=args) == path
    match = resolve(path)
    assert match.view_name == name


def test_it_resolves_sessions_before_a_site_code():
    assert resolve("/sites/sessions/3/").view_name == "sites:session"
    assert resolve("/sites/sessions/").view_name == "sites:site"  # a site code, as before

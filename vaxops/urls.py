"""The site's paths. Each app keeps its own ``urls.py`` with an ``app_name``; route names are namespaced
(``supply:lot``, ``registry:resident``, ``desk:checkin``). Only what Django itself refers to by name stays
un-namespaced: ``home``, ``login``, ``logout`` (``LOGIN_URL`` and friends) and ``set_language``."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from vaxops import views
from vaxops.accounts import views as accounts
from vaxops.api import api

urlpatterns = [
    # First: the API's machine clients (the desks' doses) are the busiest callers, and no page path starts
    # with api/v1/, so nothing else is matched differently.
    path("api/v1/", api.urls),
    path("", views.home, name="home"),
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("residents/", include("vaxops.registry.urls")),
    path("audit/", include("vaxops.audit.urls")),
    path("catalog/", include("vaxops.catalog.urls")),
    path("clinic/", include("vaxops.clinic.urls")),
    path("", include("vaxops.desk.urls")),  # /desk/…, /r/<token>/…
    path("mobilisation/", include("vaxops.campaign.urls")),
    path("reports/", include("vaxops.reports.urls")),
    path("supply/", include("vaxops.supply.urls")),
    path("coldchain/", include("vaxops.coldchain.urls")),
    path("sites/", include("vaxops.booking.site_urls")),
    path("", include("vaxops.booking.urls")),  # /booking/…, /book/…
    path("", include("vaxops.certs.urls")),  # /certs/…, /verify/
    path("safety/", include("vaxops.safety.urls")),
    path("exchange/", include("vaxops.exchange.urls")),
    path("settlement/", include("vaxops.settlement.urls")),
    path("field/", include("vaxops.field.urls")),
    path("admin/", admin.site.urls),
]

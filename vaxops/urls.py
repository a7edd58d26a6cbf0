from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from vaxops.accounts import views as accounts
from vaxops.api import api
from vaxops.audit import views as audit
from vaxops.campaign import views as campaign
from vaxops.catalog import views as catalog
from vaxops.clinic import views as clinic
from vaxops.registry import views as registry

urlpatterns = [
    path("", accounts.home, name="home"),
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("residents/", registry.residents, name="residents"),
    path("residents/find/", registry.resident_find, name="resident-find"),
    path("residents/<int:pk>/", registry.resident, name="resident"),
    path("residents/<int:pk>/reveal/", registry.resident_reveal, name="resident-reveal"),
    path("residents/import/", registry.import_page, name="import"),
    path("residents/import/template.xlsx", registry.import_template, name="import-template"),
    path("residents/import/<int:pk>/", registry.import_job, name="import-job"),
    path("residents/import/<int:pk>/errors.xlsx", registry.import_errors, name="import-errors"),
    path("audit/", audit.events, name="audit"),
    path("catalog/", catalog.catalogue, name="catalogue"),
    path("clinic/residents/<int:pk>/", clinic.assessment, name="clinic-resident"),
    path("clinic/residents/<int:pk>/screening/", clinic.screening, name="clinic-screening"),
    path("clinic/doses/<int:pk>/void/", clinic.dose_void, name="clinic-dose-void"),
    path("clinic/contraindications/<int:pk>/lift/", clinic.contraindication_lift, name="clinic-contraindication-lift"),
    path("mobilisation/", campaign.mobilisation, name="mobilisation"),
    path("mobilisation/export.xlsx", campaign.mobilisation_export, name="mobilisation-export"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]

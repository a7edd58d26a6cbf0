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
from vaxops.supply import views as supply

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
    path("supply/", supply.overview, name="supply"),
    path("supply/balances.xlsx", supply.balances_xlsx, name="supply-balances-xlsx"),
    path("supply/lots/", supply.lots, name="supply-lots"),
    path("supply/lots/<int:pk>/", supply.lot, name="supply-lot"),
    path("supply/lots/<int:pk>/reveal/", supply.lot_reveal, name="supply-lot-reveal"),
    path("supply/lots/<int:pk>/status/", supply.lot_status, name="supply-lot-status"),
    path("supply/lots/<int:pk>/recall-return/", supply.lot_recall_return, name="supply-lot-recall-return"),
    path("supply/codes/", supply.codes, name="supply-codes"),
    path("supply/codes/<str:code>/", supply.code, name="supply-code"),
    path("supply/codes/<str:code>/waste/", supply.code_waste, name="supply-code-waste"),
    path("supply/import/", supply.import_page, name="supply-import"),
    path("supply/import/template.xlsx", supply.import_template, name="supply-import-template"),
    path("supply/import/<int:pk>/", supply.import_job, name="supply-import-job"),
    path("supply/import/<int:pk>/errors.xlsx", supply.import_errors, name="supply-import-errors"),
    path("supply/dispatches/", supply.dispatches, name="supply-dispatches"),
    path("supply/dispatches/new/", supply.dispatch_new, name="supply-dispatch-new"),
    path("supply/dispatches/<int:pk>/", supply.dispatch, name="supply-dispatch"),
    path("supply/dispatches/<int:pk>/receive/", supply.dispatch_receive, name="supply-dispatch-receive"),
    path("supply/allocation/", supply.allocation, name="supply-allocation"),
    path("supply/allocation/<int:pk>/", supply.allocation_run, name="supply-allocation-run"),
    path("supply/allocation/<int:pk>/approve/", supply.allocation_approve, name="supply-allocation-approve"),
    path("supply/counts/new/", supply.count_new, name="supply-count-new"),
    path("supply/counts/<int:pk>/", supply.count, name="supply-count"),
    path("supply/residents/<int:pk>/codes/", supply.person_codes, name="supply-person-codes"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]

"""Paths of the cold chain and stock (``supply:…``), included under ``/supply/`` by ``vaxops/urls.py``."""

from django.urls import path

from . import views

app_name = "supply"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("balances.xlsx", views.balances_xlsx, name="balances-xlsx"),
    path("lots/", views.lots, name="lots"),
    path("lots/<int:pk>/", views.lot, name="lot"),
    path("lots/<int:pk>/reveal/", views.lot_reveal, name="lot-reveal"),
    path("lots/<int:pk>/status/", views.lot_status, name="lot-status"),
    path("lots/<int:pk>/recall-return/", views.lot_recall_return, name="lot-recall-return"),
    path("codes/", views.codes, name="codes"),
    path("codes/<str:code>/", views.code, name="code"),
    path("codes/<str:code>/waste/", views.code_waste, name="code-waste"),
    path("import/", views.import_page, name="import"),
    path("import/template.xlsx", views.import_template, name="import-template"),
    path("import/<int:pk>/", views.import_job, name="import-job"),
    path("import/<int:pk>/errors.xlsx", views.import_errors, name="import-errors"),
    path("dispatches/", views.dispatches, name="dispatches"),
    path("dispatches/new/", views.dispatch_new, name="dispatch-new"),
    path("dispatches/<int:pk>/", views.dispatch, name="dispatch"),
    path("dispatches/<int:pk>/receive/", views.dispatch_receive, name="dispatch-receive"),
    path("allocation/", views.allocation, name="allocation"),
    path("allocation/<int:pk>/", views.allocation_run, name="allocation-run"),
    path("allocation/<int:pk>/approve/", views.allocation_approve, name="allocation-approve"),
    path("counts/new/", views.count_new, name="count-new"),
    path("counts/<int:pk>/", views.count, name="count"),
    path("residents/<int:pk>/codes/", views.person_codes, name="person-codes"),
]

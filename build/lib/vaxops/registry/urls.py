"""Paths of the registry (``registry:…``), included under ``/residents/`` by ``vaxops/urls.py``."""

from django.urls import path

from . import views

app_name = "registry"

urlpatterns = [
    path("", views.residents, name="residents"),
    path("find/", views.resident_find, name="resident-find"),
    path("<int:pk>/", views.resident, name="resident"),
    path("<int:pk>/reveal/", views.resident_reveal, name="resident-reveal"),
    path("import/", views.import_page, name="import"),
    path("import/template.xlsx", views.import_template, name="import-template"),
    path("import/<int:pk>/", views.import_job, name="import-job"),
    path("import/<int:pk>/errors.xlsx", views.import_errors, name="import-errors"),
]

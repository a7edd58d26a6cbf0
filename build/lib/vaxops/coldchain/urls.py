"""Paths of the cold chain (``coldchain:…``), included under ``/coldchain/`` by ``vaxops/urls.py``."""

from django.urls import path

from . import views

app_name = "coldchain"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("equipment/", views.equipment, name="equipment"),
    path("equipment.xlsx", views.equipment_xlsx, name="equipment-xlsx"),
    path("units/<str:code>/", views.unit, name="unit"),
    path("units/<str:code>/log/", views.manual_log, name="manual-log"),
    path("units/<str:code>/import/", views.readings_import, name="import"),
    path("excursions/<int:pk>/acknowledge/", views.excursion_acknowledge, name="excursion-acknowledge"),
    path("excursions/<int:pk>/assess/", views.excursion_assess, name="excursion-assess"),
    path("excursions/<int:pk>/close/", views.excursion_close, name="excursion-close"),
    path("alerts/<int:pk>/read/", views.alert_read, name="alert-read"),
]

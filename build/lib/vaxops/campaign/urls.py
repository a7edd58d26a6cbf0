"""Paths of the mobilisation lists (``campaign:…``), included under ``/mobilisation/`` by ``vaxops/urls.py``."""

from django.urls import path

from . import views

app_name = "campaign"

urlpatterns = [
    path("", views.mobilisation, name="mobilisation"),
    path("export.xlsx", views.mobilisation_export, name="mobilisation-export"),
]

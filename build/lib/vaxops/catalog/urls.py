"""Paths of the catalogue (``catalog:…``), included under ``/catalog/`` by ``vaxops/urls.py``."""

from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
]

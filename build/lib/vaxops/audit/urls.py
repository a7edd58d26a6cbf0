"""Paths of the audit log (``audit:…``), included under ``/audit/`` by ``vaxops/urls.py``."""

from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("", views.events, name="events"),
]

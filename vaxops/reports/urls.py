"""Paths of the progress reports (``reports:…``), included under ``/reports/`` by ``vaxops/urls.py``."""

from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("daily/", views.daily, name="daily"),
    path("daily/confirm/", views.confirm, name="daily-confirm"),
    path("daily/report.xlsx", views.daily_xlsx, name="daily-xlsx"),
    path("daily/report.pdf", views.daily_pdf, name="daily-pdf"),
]

"""Paths of the progress reports (``reports:…``), included under ``/reports/`` by ``vaxops/urls.py``."""

from django.urls import path

from . import dashboard_views, views

app_name = "reports"

urlpatterns = [
    path("daily/", views.daily, name="daily"),
    path("daily/confirm/", views.confirm, name="daily-confirm"),
    path("daily/report.xlsx", views.daily_xlsx, name="daily-xlsx"),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("dashboard/<slug:chart>.xlsx", dashboard_views.dashboard_xlsx, name="dashboard-xlsx"),
]

"""Paths of the progress reports (``reports:…``), included under ``/reports/`` by ``vaxops/urls.py``."""

from django.urls import path

from . import bulletin_views, dashboard_views, views

app_name = "reports"

urlpatterns = [
    path("daily/", views.daily, name="daily"),
    path("daily/confirm/", views.confirm, name="daily-confirm"),
    path("daily/report.xlsx", views.daily_xlsx, name="daily-xlsx"),
    path("daily/report.pdf", views.daily_pdf, name="daily-pdf"),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("dashboard/<slug:chart>.xlsx", dashboard_views.dashboard_xlsx, name="dashboard-xlsx"),
    path("bulletins/", bulletin_views.bulletins, name="bulletins"),
    path("bulletins/draft/", bulletin_views.bulletin_draft, name="bulletin-draft"),
    path("bulletins/<int:bulletin_id>/", bulletin_views.bulletin, name="bulletin"),
    path("bulletins/<int:bulletin_id>/publish/", bulletin_views.bulletin_publish, name="bulletin-publish"),
    path("bulletins/<int:bulletin_id>.pdf", bulletin_views.bulletin_pdf_view, name="bulletin-pdf"),
    path("bulletins/<int:bulletin_id>.xlsx", bulletin_views.bulletin_xlsx_view, name="bulletin-xlsx"),
]

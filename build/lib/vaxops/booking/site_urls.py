"""Paths of the vaccination sites and sessions (``sites:…``), included under ``/sites/`` by ``vaxops/urls.py``.
The pages show a session's slots and appointments, so they live in booking (``site_views``)."""

from django.urls import path

from . import site_views as views

app_name = "sites"

urlpatterns = [
    path("", views.site_list, name="list"),
    # Sessions before ``<str:code>/``: a site code could otherwise be read as "sessions".
    path("sessions/<int:pk>/", views.session_detail, name="session"),
    path("sessions/<int:pk>/readiness/", views.session_readiness, name="session-readiness"),
    path("sessions/<int:pk>/assignments/", views.session_assign, name="session-assign"),
    path("sessions/<int:pk>/open/", views.session_open, name="session-open"),
    path("sessions/<int:pk>/close/", views.session_close, name="session-close"),
    path("sessions/<int:pk>/check-in/", views.session_check_in, name="session-check-in"),
    path("<str:code>/", views.site_detail, name="site"),
    path("<str:code>/plan/", views.site_plan, name="site-plan"),
    path("<str:code>/reserve/", views.site_reserve, name="site-reserve"),
]

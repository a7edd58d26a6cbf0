"""Paths of the vaccination desk (``desk:…``): the desk screens under ``/desk/`` and the private record links
``/r/<token>/`` that a dose's record page hands out. Included at the site root by ``vaxops/urls.py``."""

from django.urls import path

from vaxops.desk import views

app_name = "desk"

urlpatterns = [
    path("desk/", views.home, name="home"),
    path("desk/doses/<int:pk>/record/", views.dose_record, name="record"),
    path("desk/doses/<int:pk>/void/", views.dose_void, name="dose-void"),
    path("desk/doses/<int:pk>/record-link/", views.dose_record_link, name="record-link"),
    path("desk/<int:session_id>/checkin/", views.checkin, name="checkin"),
    path("desk/<int:session_id>/checkin/walk-in/", views.walk_in, name="walk-in"),
    path("desk/<int:session_id>/screening/", views.screening, name="screening"),
    path("desk/<int:session_id>/consent/<int:resident_id>/", views.consent, name="consent"),
    path("desk/<int:session_id>/vaccinate/", views.vaccinate, name="vaccinate"),
    path("desk/<int:session_id>/vaccinate/done/<int:dose_id>/", views.vaccinated, name="vaccinated"),
    path("desk/<int:session_id>/observation/", views.observation, name="observation"),
    path(
        "desk/<int:session_id>/observation/<int:observation_id>/release/",
        views.observation_release,
        name="observation-release",
    ),
    path(
        "desk/<int:session_id>/observation/<int:observation_id>/reaction/",
        views.observation_reaction,
        name="observation-reaction",
    ),
    path(
        "desk/<int:session_id>/observation/<int:observation_id>/reaction/<int:note_id>/report/",
        views.observation_report,
        name="observation-report",
    ),
    path("r/<str:token>/", views.record_private, name="record-private"),
    path("r/<str:token>/revoke/", views.record_private_revoke, name="record-private-revoke"),
]

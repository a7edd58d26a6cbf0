"""Paths of the certificates app (included at the site root by ``vaxops/urls.py``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("certs/revocations.json", views.revocations, name="certs-revocations"),
    path("certs/trustlist.json", views.trustlist, name="certs-trustlist"),
    path("certs/residents/<int:pk>/", views.staff, name="certs-staff"),
    path("certs/residents/<int:pk>/certificates/<int:cid>.pdf", views.staff_pdf, name="certs-staff-pdf"),
    path("certs/<str:token>/", views.mine, name="certs-mine"),
    path("certs/<str:token>/certificate.pdf", views.mine_pdf, name="certs-mine-pdf"),
    path("verify/", views.verify, name="certs-verify"),
]

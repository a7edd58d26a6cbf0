"""Paths of the certificates app (``certs:…``), included at the site root by ``vaxops/urls.py``."""

from django.urls import path

from . import views

app_name = "certs"

urlpatterns = [
    path("certs/revocations.json", views.revocations, name="revocations"),
    path("certs/trustlist.json", views.trustlist, name="trustlist"),
    path("certs/residents/<int:pk>/", views.staff, name="staff"),
    path("certs/residents/<int:pk>/certificates/<int:cid>.pdf", views.staff_pdf, name="staff-pdf"),
    path("certs/<str:token>/", views.mine, name="mine"),
    path("certs/<str:token>/certificate.pdf", views.mine_pdf, name="mine-pdf"),
    path("verify/", views.verify, name="verify"),
]

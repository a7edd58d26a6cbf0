"""Paths of the person's vaccination record (``clinic:…``), included under ``/clinic/`` by ``vaxops/urls.py``.
The vaccination desk's pages have their own namespace, ``desk`` (``vaxops/desk/urls.py``)."""

from django.urls import path

from . import views

app_name = "clinic"

urlpatterns = [
    path("residents/<int:pk>/", views.assessment, name="resident"),
    path("residents/<int:pk>/screening/", views.screening, name="screening"),
    path("doses/<int:pk>/void/", views.dose_void, name="dose-void"),
    path("doses/<int:pk>/correct/", views.dose_correct, name="dose-correct"),
    path("contraindications/<int:pk>/lift/", views.contraindication_lift, name="contraindication-lift"),
]

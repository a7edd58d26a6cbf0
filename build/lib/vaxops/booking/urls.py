"""Paths of booking (``booking:…``): the staff doors under ``/booking/`` and the resident's own door under
``/book/``. Included at the site root by ``vaxops/urls.py``."""

from django.urls import path

from . import views

app_name = "booking"

urlpatterns = [
    path("booking/", views.door, name="door"),
    path("booking/waitlist/", views.waitlist, name="waitlist"),
    path("booking/appointments/", views.appointments, name="appointments"),
    path("booking/appointments/<int:pk>/cancel/", views.appointment_cancel, name="cancel"),
    path("booking/appointments/<int:pk>/reschedule/", views.appointment_reschedule, name="reschedule"),
    path("booking/employer/", views.employer_door, name="employer"),
    path("booking/employer/upload/", views.employer_upload, name="employer-upload"),
    path("booking/employer/jobs/<int:pk>/", views.employer_job, name="employer-job"),
    path("booking/employer/book/", views.employer_book, name="employer-book"),
    path("book/", views.self_start, name="book"),
    path("book/verify/", views.self_verify, name="book-verify"),
    path("book/slots/", views.self_slots, name="book-slots"),
    path("book/me/", views.self_me, name="book-me"),
    path("book/cancel/", views.self_cancel, name="book-cancel"),
    path("book/exit/", views.self_exit, name="book-exit"),
]

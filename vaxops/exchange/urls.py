from django.urls import path

from . import views

app_name = "exchange"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("sites/<int:site_id>/", views.site, name="site"),
    path("retry/", views.retry, name="retry"),
    path("reviews/", views.reviews, name="reviews"),
]

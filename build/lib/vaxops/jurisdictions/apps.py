from django.apps import AppConfig


class JurisdictionsConfig(AppConfig):
    name = "vaxops.jurisdictions"
    label = "jurisdictions"
    default_auto_field = "django.db.models.BigAutoField"

from django.apps import AppConfig


class CampaignConfig(AppConfig):
    name = "vaxops.campaign"
    label = "campaign"
    verbose_name = "动员与补种"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401

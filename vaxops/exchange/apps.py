from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ExchangeConfig(AppConfig):
    name = "vaxops.exchange"
    label = "exchange"
    verbose_name = "数据交换（FHIR R4）"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the clinic signals)

        post_migrate.connect(_after_migrate, sender=self)


def _after_migrate(sender, **kwargs) -> None:
    from vaxops.accounts.services import roles_sync

    from .tasks import schedules_ensure

    # The roles were synced before this app's permissions existed; sync again now that they do.
    roles_sync()
    schedules_ensure()

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SettlementConfig(AppConfig):
    name = "vaxops.settlement"
    label = "settlement"
    verbose_name = "疫苗及接种费用结算"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_after_migrate, sender=self)


def _after_migrate(sender, **kwargs) -> None:
    from vaxops.accounts.services import roles_sync

    roles_sync()

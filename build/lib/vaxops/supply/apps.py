from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SupplyConfig(AppConfig):
    name = "vaxops.supply"
    label = "supply"
    verbose_name = "疫苗供应与追溯"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401

        post_migrate.connect(_after_migrate, sender=self)


def _after_migrate(sender, **kwargs) -> None:
    from vaxops.accounts.services import roles_sync
    from vaxops.core.schedules import schedule_daily

    # Earlier apps sync the roles before this app's permissions exist; sync again now that they do.
    roles_sync()
    schedule_daily("清理过期的收货导入错误报告", "vaxops.supply.tasks.receipt_errors_expire", hour=2)

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class FieldConfig(AppConfig):
    name = "vaxops.field"
    label = "field"
    verbose_name = "现场组织（培训、流动接种、网格化、告知）"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_after_migrate, sender=self)


def _after_migrate(sender, **kwargs) -> None:
    from vaxops.accounts.services import roles_sync

    roles_sync()

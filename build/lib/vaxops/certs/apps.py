from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CertsConfig(AppConfig):
    name = "vaxops.certs"
    label = "certs"
    verbose_name = "接种凭证"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401

        post_migrate.connect(_after_migrate, sender=self)


def _after_migrate(sender, **kwargs) -> None:
    from vaxops.accounts.services import roles_sync

    # The apps before this one synced the roles before its permissions existed; sync again.
    roles_sync()

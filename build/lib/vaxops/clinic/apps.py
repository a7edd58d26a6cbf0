from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ClinicConfig(AppConfig):
    name = "vaxops.clinic"
    label = "clinic"
    verbose_name = "接种记录与预检"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_after_migrate, sender=self)


def _after_migrate(sender, **kwargs) -> None:
    from vaxops.accounts.services import roles_sync

    from .consent_texts import consent_texts_ensure

    # registry syncs the roles before this app's permissions exist; sync again now that they do.
    roles_sync()
    consent_texts_ensure()

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CatalogConfig(AppConfig):
    name = "vaxops.catalog"
    label = "catalog"
    verbose_name = "疫苗目录与免疫程序"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import selectors

        selectors.connect_invalidation()
        post_migrate.connect(_after_migrate, sender=self)


def _after_migrate(sender, **kwargs) -> None:
    from vaxops.accounts.services import roles_sync

    from .services import catalogue_defaults_ensure

    catalogue_defaults_ensure()
    # registry syncs the roles before this app's permissions exist; sync again now that they do.
    roles_sync()

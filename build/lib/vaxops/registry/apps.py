from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RegistryConfig(AppConfig):
    name = "vaxops.registry"
    label = "registry"
    verbose_name = "居民登记"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .signals import after_migrate

        post_migrate.connect(after_migrate, sender=self)

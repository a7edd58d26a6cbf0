from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "vaxops.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import checks  # noqa: F401  (registers the database role check)
        from .prepared import keep_prepared_on_rollback

        connection_created.connect(keep_prepared_on_rollback, dispatch_uid="core.keep_prepared_on_rollback")

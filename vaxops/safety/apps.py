from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SafetyConfig(AppConfig):
    name = "vaxops.safety"
    label = "safety"
    verbose_name = "疫苗安全性（疑似异常反应）"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from vaxops.sites.signals import session_readiness_asked

        from .receivers import session_readiness

        post_migrate.connect(_after_migrate, sender=self)
        session_readiness_asked.connect(session_readiness, dispatch_uid="safety.session_readiness")


def _after_migrate(sender, **kwargs) -> None:
    from vaxops.accounts.services import roles_sync
    from vaxops.core.schedules import schedule_daily

    from .tasks import schedules_ensure

    # The roles were synced before this app's permissions existed; sync again now that they do.
    roles_sync()
    schedules_ensure()
    schedule_daily("疫苗安全性信号（MaxSPRT）", "vaxops.safety.tasks.signals_daily", hour=2)

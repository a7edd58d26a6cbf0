from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ColdchainConfig(AppConfig):
    name = "vaxops.coldchain"
    label = "coldchain"
    verbose_name = "冷链温度监测"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from vaxops.supply.signals import dispatch_received, dispatch_shown

        from .receivers import dispatch_received as on_dispatch_received
        from .receivers import dispatch_shown as on_dispatch_shown

        post_migrate.connect(_after_migrate, sender=self)
        dispatch_received.connect(on_dispatch_received, dispatch_uid="coldchain.dispatch_received")
        dispatch_shown.connect(on_dispatch_shown, dispatch_uid="coldchain.dispatch_shown")


def _after_migrate(sender, **kwargs) -> None:
    from vaxops.accounts.services import roles_sync
    from vaxops.core.schedules import schedule_daily, schedule_every

    from .services import silent_check_minutes

    roles_sync()
    schedule_daily("冷链人工温度记录缺项提醒", "vaxops.coldchain.tasks.manual_log_check", hour=19)
    schedule_every(
        "冷链传感器无数据告警", "vaxops.coldchain.tasks.silent_check", minutes=silent_check_minutes()
    )

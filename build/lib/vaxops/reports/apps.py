from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReportsConfig(AppConfig):
    name = "vaxops.reports"
    label = "reports"
    verbose_name = "接种进度与报表"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the facts to the record's changes

        post_migrate.connect(_after_migrate, sender=self)


def _after_migrate(sender, **kwargs) -> None:
    from vaxops.accounts.services import roles_sync
    from vaxops.core.schedules import schedule_daily

    # The roles were synced before this app's permissions existed; sync again now that they do.
    roles_sync()
    schedule_daily("日报表17时逾期标记", "vaxops.reports.tasks.daily_reports_mark_late", hour=17)

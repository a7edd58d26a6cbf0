from django.dispatch import Signal

# Sent (after commit) with ``resident_ids`` whenever residents were created or
# changed in a way that may change what they are due (birth date, group…).
residents_changed = Signal()


def after_migrate(sender, **kwargs):
    from vaxops.accounts.services import roles_sync
    from vaxops.core.schedules import schedule_daily

    from .defaults import priority_groups_ensure

    roles_sync()
    priority_groups_ensure()
    schedule_daily("清理过期的摸底导入错误报告", "vaxops.registry.tasks.import_errors_expire", hour=2)

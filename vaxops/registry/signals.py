def after_migrate(sender, **kwargs):
    from vaxops.accounts.services import roles_sync

    from .defaults import priority_groups_ensure

    roles_sync()
    priority_groups_ensure()

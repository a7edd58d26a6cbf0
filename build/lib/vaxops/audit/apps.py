from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate

from vaxops.core.dbroles import audit_grants_revoke_sql


class AuditConfig(AppConfig):
    name = "vaxops.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401

        post_migrate.connect(_after_migrate, sender=self)


def _after_migrate(sender, using="default", **kwargs) -> None:
    """On PostgreSQL, only the audit table's owner may change or empty it: take back UPDATE, DELETE and
    TRUNCATE from every other role (the owner's default privileges grant them on a table it creates)."""
    conn = connections[using]
    if conn.vendor == "postgresql":
        with conn.cursor() as c:
            c.execute(audit_grants_revoke_sql())

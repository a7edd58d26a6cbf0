"""``migrate`` as the owner role: when ``DATABASE_OWNER_URL`` is set (``vaxops db-roles``), the default
database's migrations run through that role's connection, since the application's own role may not create or
alter tables. Every other command keeps the application's role."""

import contextlib

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS, connections

_ROLE_KEYS = ("USER", "PASSWORD", "HOST", "PORT")


@contextlib.contextmanager
def as_owner(alias: str = DEFAULT_DB_ALIAS):
    """Point ``alias`` at the owner's connection (same database, the owner's user and password) meanwhile."""
    owner = settings.VAXOPS_OWNER_DATABASE
    conn = connections[alias]
    if not owner or alias != DEFAULT_DB_ALIAS:
        yield
        return
    if owner["ENGINE"] != conn.settings_dict["ENGINE"] or owner["NAME"] != conn.settings_dict["NAME"]:
        raise CommandError(
            f"DATABASE_OWNER_URL 指向的数据库（{owner['NAME']}）与 DATABASE_URL（{conn.settings_dict['NAME']}）"
            "不同：所有者角色必须迁移应用所用的同一个数据库"
        )
    saved = {k: conn.settings_dict.get(k) for k in _ROLE_KEYS}
    conn.close()
    conn.settings_dict.update({k: owner.get(k) for k in _ROLE_KEYS})
    try:
        yield
    finally:
        conn.close()
        conn.settings_dict.update(saved)


class Command(migrate.Command):
    help = migrate.Command.help + " (as the owner role of DATABASE_OWNER_URL when it is set)"

    def handle(self, *args, **options):
        with as_owner(options["database"]):
            return super().handle(*args, **options)

"""``vaxops check --deploy --database default``: the application must not connect as the owner of its tables
(or a superuser) — that role could switch the audit triggers off. See ``vaxops db-roles``."""

from django.core.checks import Error, Tags, register
from django.db import connections

from vaxops.core.dbroles import app_role_problems


@register(Tags.database, deploy=True)
def database_role_check(app_configs=None, databases=None, **kwargs):
    errors = []
    for alias in databases or ():
        conn = connections[alias]
        if conn.vendor != "postgresql":
            continue
        with conn.cursor() as c:
            problems = app_role_problems(c)
        errors += [
            Error(
                problem,
                hint="以所有者角色迁移、以应用角色运行：vaxops db-roles --owner vaxops_owner --app vaxops_app",
                id="vaxops.E101",
            )
            for problem in problems
        ]
    return errors

"""``vaxops db-roles``: the owner role that migrates and the application role that only reads and writes rows.

    vaxops db-roles --owner vaxops_owner --app vaxops_app             # print the SQL (for psql)
    vaxops db-roles --owner vaxops_owner --app vaxops_app --apply     # run it (DATABASE_URL: a superuser)
    vaxops db-roles --check                                           # is DATABASE_URL's role fit for the app?

Passwords come from ``VAXOPS_OWNER_DB_PASSWORD`` and ``VAXOPS_APP_DB_PASSWORD`` when set (never from the command
line, which other users of the machine can read).
"""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from vaxops.core.dbroles import app_role_problems, roles_sql


class Command(BaseCommand):
    help = (
        "数据库角色 / database roles: 打印或执行建立所有者角色（迁移）与应用角色（只读写数据）的 SQL；"
        "--check 检查当前连接的角色是否适合运行应用"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--owner", default="vaxops_owner", help="the role that owns the tables and migrates"
        )
        parser.add_argument("--app", default="vaxops_app", help="the role the application connects as")
        parser.add_argument("--database", default=None, help="default: the database of DATABASE_URL")
        parser.add_argument("--schema", default="public")
        parser.add_argument("--apply", action="store_true", help="run the SQL on DATABASE_URL (a superuser)")
        parser.add_argument("--check", action="store_true", help="check the role DATABASE_URL connects as")

    def handle(self, *args, owner, app, database, schema, apply, check, **options):
        if connection.vendor != "postgresql" and (apply or check):
            raise CommandError("数据库角色只适用于 PostgreSQL（请设置 DATABASE_URL）")
        if check:
            with connection.cursor() as c:
                problems = app_role_problems(c)
            who = connection.settings_dict["USER"] or "?"
            if problems:
                raise CommandError(
                    f"角色 {who} 不宜用于运行应用 / role {who} must not run the application:\n- "
                    + "\n- ".join(problems)
                )
            self.stdout.write(f"角色 {who} 适合运行应用：不拥有任何表，不能关闭审计触发器或改写审计日志")
            return
        try:
            stmts = roles_sql(
                owner=owner,
                app=app,
                database=database or connection.settings_dict["NAME"],
                schema=schema,
                owner_password=os.environ.get("VAXOPS_OWNER_DB_PASSWORD") or None,
                app_password=os.environ.get("VAXOPS_APP_DB_PASSWORD") or None,
            )
        except ValueError as e:
            raise CommandError(str(e)) from e
        if not apply:
            for sql in stmts:
                self.stdout.write(sql + ";")
            return
        with connection.cursor() as c:
            for sql in stmts:
                c.execute(sql)
        self.stdout.write(
            f"已建立角色：{owner}（所有者，执行迁移）和 {app}（应用，只读写数据，不能改写审计日志）"
        )

# ruff: noqa: S608 - DDL cannot take bound parameters: every name is checked by _ident, every value quoted by _literal
"""The two PostgreSQL roles a county DBA sets up: an owner that runs the migrations and owns every table, and
the application's role that may only read and write rows — never alter a table, never disable the audit
triggers, never rewrite the audit log.

``roles_sql`` is what ``vaxops db-roles`` prints or applies; ``app_role_problems`` is what ``vaxops db-roles
--check`` (and ``vaxops check --deploy --database default``) finds wrong with the role the application connects
as. Pure string building and catalogue queries: no Django here.
"""

import re

AUDIT_TABLE = "audit_auditevent"
# What the application never needs on the audit log: it appends and reads.
AUDIT_REVOKED = ("UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _ident(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"名称“{name}”不合规：只能用小写字母、数字和下划线，且不以数字开头")
    return f'"{name}"'


def _literal(value: str) -> str:
    if "\x00" in value:
        raise ValueError("口令不能含 NUL 字符")
    return "'" + value.replace("'", "''") + "'"


def roles_sql(
    *,
    owner: str,
    app: str,
    database: str,
    schema: str = "public",
    owner_password: str | None = None,
    app_password: str | None = None,
) -> list[str]:
    """The statements, in order, for a superuser (or a role with CREATEROLE that owns the database) to run
    in ``database``. Idempotent: run it again after adding a table by hand, or to reset a role's password."""
    o, a, d, s = _ident(owner), _ident(app), _ident(database), _ident(schema)
    stmts: list[str] = []
    for name, quoted, password in ((owner, o, owner_password), (app, a, app_password)):
        stmts.append(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {_literal(name)}) "
            f"THEN CREATE ROLE {quoted}; END IF; END $$"
        )
        # Neither role may bypass anything: session_replication_role (which switches triggers off) needs a
        # superuser, and BYPASSRLS/REPLICATION would step round the rules too.
        stmts.append(
            f"ALTER ROLE {quoted} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
            + (f" PASSWORD {_literal(password)}" if password else "")
        )
    # The application role inherits nothing from the owner.
    stmts.append(f"REVOKE {o} FROM {a}")
    stmts += [
        f"ALTER DATABASE {d} OWNER TO {o}",
        f"GRANT CONNECT, TEMPORARY ON DATABASE {d} TO {a}",
        f"ALTER SCHEMA {s} OWNER TO {o}",
        f"REVOKE CREATE ON SCHEMA {s} FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA {s} TO {a}",
        # Tables, sequences and functions made before the owner existed (a first migrate run as postgres)
        # are handed to the owner; the app role must own nothing.
        "DO $$ DECLARE r record; BEGIN "
        "FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE n.nspname = {_literal(schema)} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
        f"AND pg_get_userbyid(c.relowner) <> {_literal(owner)} "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.objid = c.oid AND dep.deptype IN ('a', 'i') "
        "AND dep.classid = 'pg_class'::regclass AND c.relkind = 'S') "
        f"LOOP EXECUTE format('ALTER TABLE %I.%I OWNER TO %I', {_literal(schema)}, r.relname, {_literal(owner)}); "
        "END LOOP; "
        "FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        f"WHERE n.nspname = {_literal(schema)} AND pg_get_userbyid(p.proowner) <> {_literal(owner)} "
        f"LOOP EXECUTE format('ALTER ROUTINE %s OWNER TO %I', r.sig, {_literal(owner)}); END LOOP; END $$",
        # ANALYZE is for a table's owner only (PostgreSQL 15): the census and code imports refresh the
        # planner's statistics of a table growing from empty through this function, run as the owner.
        f"CREATE OR REPLACE FUNCTION {s}.vaxops_analyze(t regclass) RETURNS void LANGUAGE plpgsql "
        f"SECURITY DEFINER SET search_path = pg_catalog, {s} AS "
        "$f$ BEGIN EXECUTE format('ANALYZE %s', t); END $f$",
        f"ALTER FUNCTION {s}.vaxops_analyze(regclass) OWNER TO {o}",
        f"REVOKE ALL ON FUNCTION {s}.vaxops_analyze(regclass) FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION {s}.vaxops_analyze(regclass) TO {a}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {a}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {a}",
        # Tables and sequences the owner creates later (every future migration) get the same grants.
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {a}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {a}",
        # The audit log: append and read only (``audit`` takes these back after every migrate as well, since
        # the default privileges above would grant them on a table created later).
        f"DO $$ BEGIN IF to_regclass({_literal(schema + '.' + AUDIT_TABLE)}) IS NOT NULL THEN "
        f"REVOKE {', '.join(AUDIT_REVOKED)} ON {s}.{AUDIT_TABLE} FROM {a}, PUBLIC; END IF; END $$",
    ]
    return stmts


def audit_grants_revoke_sql() -> str:
    """Run by the owner after every migrate: nobody but the table's owner may change or empty the audit log,
    whatever default privileges granted when the table was created."""
    return (
        "DO $$ DECLARE r record; BEGIN "
        f"IF to_regclass('{AUDIT_TABLE}') IS NULL THEN RETURN; END IF; "
        "FOR r IN SELECT DISTINCT grantee FROM information_schema.role_table_grants "
        f"WHERE table_name = '{AUDIT_TABLE}' AND privilege_type IN "
        f"({', '.join(_literal(p) for p in AUDIT_REVOKED)}) "
        f"AND grantee <> pg_get_userbyid((SELECT relowner FROM pg_class WHERE oid = '{AUDIT_TABLE}'::regclass)) "
        f"LOOP EXECUTE format('REVOKE {', '.join(AUDIT_REVOKED)} ON {AUDIT_TABLE} FROM %s', "
        "CASE WHEN r.grantee = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(r.grantee) END); END LOOP; END $$"
    )


def analyze(cursor, table: str) -> None:
    """Refresh ``table``'s planner statistics: directly as its owner, through ``vaxops_analyze`` (made by
    ``vaxops db-roles``) as the application's role, which may not ANALYZE by itself."""
    cursor.execute(
        "SELECT to_regprocedure('vaxops_analyze(regclass)') IS NOT NULL "
        "AND NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = %s::regclass), 'USAGE')",
        [table],
    )
    if cursor.fetchone()[0]:
        cursor.execute("SELECT vaxops_analyze(%s::regclass)", [table])
    else:
        cursor.execute(f'ANALYZE "{table}"')


# Each check: (SQL returning one boolean that is true when something is wrong, the reason in Chinese).
_CHECKS = (
    (
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
        "应用连接的角色是超级用户：可关闭审计触发器（session_replication_role）并改写审计日志",
    ),
    (
        f"SELECT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = '{AUDIT_TABLE}'::regclass), "
        "'MEMBER')",
        "应用连接的角色是审计表的所有者（或其成员）：可 ALTER TABLE … DISABLE TRIGGER 关闭审计触发器",
    ),
    (
        "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE pg_has_role(current_user, c.relowner, 'MEMBER') AND n.nspname NOT IN ('pg_catalog', "
        "'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%')",
        "应用连接的角色拥有数据表：可修改表结构和触发器，迁移应由所有者角色执行",
    ),
    (
        "SELECT pg_has_role(current_user, (SELECT datdba FROM pg_database WHERE datname = current_database()), "
        "'MEMBER')",
        "应用连接的角色是数据库的所有者",
    ),
    (
        f"SELECT has_table_privilege('{AUDIT_TABLE}', 'UPDATE') OR has_table_privilege('{AUDIT_TABLE}', 'DELETE') "
        f"OR has_table_privilege('{AUDIT_TABLE}', 'TRUNCATE')",
        "应用连接的角色对审计表有 UPDATE/DELETE/TRUNCATE 权限",
    ),
    (
        "SELECT has_parameter_privilege('session_replication_role', 'SET')",
        "应用连接的角色可设置 session_replication_role（可让触发器失效）",
    ),
)


def app_role_problems(cursor) -> list[str]:
    """What is wrong with the role ``cursor`` is connected as, for running the application (empty: nothing).
    ``cursor`` is a DB-API cursor on PostgreSQL with the audit table migrated."""
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [AUDIT_TABLE])
    if not cursor.fetchone()[0]:
        return [f"数据库中没有审计表 {AUDIT_TABLE}：请先以所有者角色执行 vaxops migrate"]
    problems = []
    for sql, reason in _CHECKS:
        cursor.execute(sql)
        if cursor.fetchone()[0]:
            problems.append(reason)
    return problems

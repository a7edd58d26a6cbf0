"""The two database roles (``vaxops db-roles``): the application's role reads and writes rows and nothing
more — it cannot switch the audit triggers off, rewrite or empty the audit log, or change a table — while
the owner that migrates can. PostgreSQL only.

Each test builds the two roles for the test database inside its own transaction (roles and grants are
transactional in PostgreSQL, so the test's rollback removes them), then acts as one of them with
``SET LOCAL ROLE``: the privileges checked are the role's own, a superuser's are dropped.
"""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from vaxops.audit.models import AuditEvent
from vaxops.audit.services import audit_record
from vaxops.booking import services as booking
from vaxops.booking.tests.factories import resident, session, site
from vaxops.core.actors import SystemActor
from vaxops.core.dbroles import app_role_problems, audit_grants_revoke_sql, roles_sql

pytestmark = pytest.mark.postgres


@pytest.fixture
def roles(db):
    """(owner, app) roles made for this test's database, in the test's transaction."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no roles")
    name = connection.settings_dict["NAME"].lower()[:50]
    owner, app = f"{name}_owner", f"{name}_app"
    with connection.cursor() as c:
        for sql in roles_sql(owner=owner, app=app, database=connection.settings_dict["NAME"]):
            c.execute(sql)
    return owner, app


def act_as(role: str) -> None:
    with connection.cursor() as c:
        c.execute(f'SET LOCAL ROLE "{role}"')


def refused(sql: str, params=None) -> bool:
    """Whether the database refuses ``sql`` (run in a savepoint, so the test's transaction carries on)."""
    try:
        with transaction.atomic(), connection.cursor() as c:
            c.execute(sql, params)
    except DatabaseError:
        return True
    return False


FORBIDDEN = [
    "ALTER TABLE audit_auditevent DISABLE TRIGGER USER",
    "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_update",
    "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_event_no_update ON audit_auditevent",
    "DROP FUNCTION audit_event_append_only() CASCADE",
    "SET session_replication_role = replica",
    "SET LOCAL session_replication_role = replica",
    "SELECT set_config('session_replication_role', 'replica', true)",
    "UPDATE audit_auditevent SET action = 'forged'",
    "DELETE FROM audit_auditevent",
    "TRUNCATE audit_auditevent",
    "ALTER TABLE registry_resident ADD COLUMN smuggled text",
    "CREATE TABLE smuggled (a int)",
    "ALTER TABLE audit_auditevent RENAME TO audit_forgotten",
]


def test_the_owner_can_switch_the_audit_triggers_off_so_the_app_must_not_be_the_owner(roles):
    owner, _ = roles
    act_as(owner)
    assert not refused("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
    with connection.cursor() as c:
        problems = app_role_problems(c)
    assert any("所有者" in p and "DISABLE TRIGGER" in p for p in problems), problems


@pytest.mark.parametrize("sql", FORBIDDEN)
def test_the_app_role_cannot_alter_or_bypass_the_audit_log(roles, sql):
    audit_record(actor=None, action="test.before", object_type="t", object_id=1)
    _, app = roles
    act_as(app)

    assert refused(sql)
    assert AuditEvent.objects.filter(action="test.before").count() == 1


def test_the_app_role_owns_nothing_and_is_found_fit(roles):
    _, app = roles
    act_as(app)
    with connection.cursor() as c:
        assert app_role_problems(c) == []
        c.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        assert c.fetchone() == (app, False)


def test_the_check_command_names_what_is_wrong_with_the_owner(roles):
    owner, app = roles
    act_as(owner)
    with pytest.raises(CommandError, match="DISABLE TRIGGER"):
        call_command("db-roles", "--check")
    act_as(app)
    call_command("db-roles", "--check")


def test_the_app_role_does_the_applications_work(roles, village_a1, cdc, client):
    s = session(site(village_a1), cdc)
    slot = s.slots.order_by("start").first()
    person = resident(village_a1, 1)
    before = AuditEvent.objects.count()
    _, app = roles
    act_as(app)

    appointment = booking.appointment_book(actor=SystemActor("t"), resident=person, slot=slot, channel="self")
    booking.appointment_cancel(actor=SystemActor("t"), appointment=appointment, reason="测试")
    client.force_login(cdc)
    assert client.get("/api/v1/sites").status_code == 200
    assert client.get("/booking/").status_code == 200

    assert AuditEvent.objects.count() > before
    with connection.cursor() as c:
        c.execute("SELECT current_user")
        assert c.fetchone() == (app,)


def test_a_table_a_later_migration_creates_is_open_to_the_app_role(roles):
    owner, app = roles
    act_as(owner)
    with connection.cursor() as c:
        c.execute(
            "CREATE TABLE later_migration (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, a int)"
        )
    act_as(app)
    with connection.cursor() as c:
        c.execute("INSERT INTO later_migration (a) VALUES (1) RETURNING id")
        assert c.fetchone()[0] == 1
        c.execute("UPDATE later_migration SET a = 2")
        c.execute("DELETE FROM later_migration")
    assert refused("ALTER TABLE later_migration ADD COLUMN b int")


def test_after_a_migrate_the_audit_log_is_append_only_for_everyone_but_its_owner(roles):
    owner, app = roles
    act_as(owner)
    with connection.cursor() as c:
        c.execute(f'GRANT UPDATE, DELETE, TRUNCATE ON audit_auditevent TO "{app}", PUBLIC')
        c.execute(audit_grants_revoke_sql())
    act_as(app)
    for sql in ("UPDATE audit_auditevent SET action = 'x'", "DELETE FROM audit_auditevent"):
        assert refused(sql)
    with connection.cursor() as c:
        assert app_role_problems(c) == []


def test_role_names_are_checked_before_they_reach_sql():
    with pytest.raises(ValueError, match="不合规"):
        roles_sql(owner='x"; DROP TABLE y; --', app="a", database="d")


def test_check_deploy_refuses_the_owner_and_accepts_the_app_role(roles):
    from vaxops.core.checks import database_role_check

    owner, app = roles
    act_as(owner)
    assert {e.id for e in database_role_check(databases=["default"])} == {"vaxops.E101"}
    act_as(app)
    assert database_role_check(databases=["default"]) == []


def test_the_app_role_refreshes_a_tables_statistics_through_the_owners_function(roles):
    from vaxops.core.dbroles import analyze

    owner, app = roles
    act_as(owner)
    with connection.cursor() as c:
        c.execute("CREATE TABLE grows (a int)")
        c.execute("INSERT INTO grows SELECT generate_series(1, 100)")
    act_as(app)
    with connection.cursor() as c:
        c.execute("ANALYZE grows")  # by itself the role may not: PostgreSQL skips it with a warning
        c.execute("SELECT reltuples FROM pg_class WHERE oid = 'grows'::regclass")
        assert c.fetchone()[0] == -1
        analyze(c, "grows")
        c.execute("SELECT reltuples FROM pg_class WHERE oid = 'grows'::regclass")
        assert c.fetchone()[0] == 100


def test_migrate_runs_through_the_owners_connection_of_the_same_database(settings):
    from django.db import connections

    from vaxops.core.management.commands.migrate import as_owner

    conn = connections["default"]
    app_user = conn.settings_dict["USER"]
    settings.VAXOPS_OWNER_DATABASE = {**conn.settings_dict, "USER": "vaxops_owner", "PASSWORD": "s"}
    with as_owner():
        assert conn.settings_dict["USER"] == "vaxops_owner"
    assert conn.settings_dict["USER"] == app_user

    settings.VAXOPS_OWNER_DATABASE = {**conn.settings_dict, "NAME": "another_database"}
    with pytest.raises(CommandError, match="不同"), as_owner():
        pass
    assert conn.settings_dict["USER"] == app_user

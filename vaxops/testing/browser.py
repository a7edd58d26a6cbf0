"""Fixtures for the headless-Chromium tests: one browser per module, a Chinese context per test.

They are registered for every test by ``vaxops/conftest.py``; a browser module says::

    pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]
"""

import pytest

CHROMIUM = "/usr/bin/chromium"  # Debian's package; never a browser downloaded by a tool


# Tables whose rows the database itself refuses to delete: the audit log (append-only, migration audit/0002) and
# the settlement's approved months and their lines (frozen, migration settlement/0002).
_GUARDED_TABLES = ("audit_auditevent", "settlement_settlement", "settlement_settlementline")


@pytest.fixture(scope="module")
def audit_log_flushable(django_db_setup, django_db_blocker):
    """Let the per-test flush of transactional tests empty the guarded tables, for this module only.

    The audit log is append-only and an approved settlement is frozen, both by triggers (on DELETE on SQLite,
    on DELETE and TRUNCATE on PostgreSQL), so Django's flush after every transactional test would fail. The
    triggers are put back exactly as they were when the module ends.
    """
    from django.db import connection

    saved = []
    with django_db_blocker.unblock(), connection.cursor() as c:
        if connection.vendor == "postgresql":
            for table in _GUARDED_TABLES:
                c.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        elif connection.vendor == "sqlite":
            marks = ", ".join(["%s"] * len(_GUARDED_TABLES))
            c.execute(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({marks})",  # noqa: S608 - placeholders only
                list(_GUARDED_TABLES),
            )
            saved = c.fetchall()
            for name, _sql in saved:
                c.execute(f'DROP TRIGGER "{name}"')
    yield
    with django_db_blocker.unblock(), connection.cursor() as c:
        if connection.vendor == "postgresql":
            for table in _GUARDED_TABLES:
                c.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        for _name, sql in saved:
            c.execute(sql)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()


def csp_violations(p) -> list[str]:
    """Start collecting, on page ``p``, what the Content-Security-Policy blocked and any uncaught script error."""
    found: list[str] = []

    def on_console(message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            found.append(message.text)

    p.on("console", on_console)
    p.on("pageerror", lambda error: found.append(f"script error: {error}"))
    return found


@pytest.fixture
def page(browser, live_server):
    # A Chinese browser: Accept-Language zh-CN, so Django picks zh-hans (not the en-US Chromium default).
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(10_000)
    p = context.new_page()
    problems = csp_violations(p)
    try:
        yield p
    finally:
        context.close()
    # The test settings enforce the production policy: a blocked inline script or style, or a script that
    # failed, fails the test that met it.
    assert problems == [], problems


def menu_link(p, name: str):
    """The header menu's link named ``name``, its drop-down group opened first when it sits in one."""
    import re

    p.locator("nav.menu").wait_for()
    named = re.compile(rf"^\s*{re.escape(name)}\s*$")
    link = p.locator("nav.menu a").filter(has_text=named)
    group = p.locator("nav.menu details").filter(has=p.locator("a").filter(has_text=named))
    if group.count() and not group.first.evaluate("d => d.open"):
        group.first.locator("summary").click()
    return link.first

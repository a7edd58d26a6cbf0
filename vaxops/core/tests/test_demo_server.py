"""``make demo`` serves through the production server: gunicorn with the demo's settings (DEBUG off, WhiteNoise,
the friendly error pages) on a migrated SQLite database answers the login page, a static file from WhiteNoise and
a missing page with the Chinese 404 — never Django's debug page."""

import os
import re
import subprocess
import sys
import time
from http.client import HTTPConnection
from pathlib import Path

import pytest

from vaxops.benchmarks.server import free_port

ROOT = Path(__file__).resolve().parents[3]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _env(var_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "DATABASE_OWNER_URL", "VAXOPS_SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
        and not k.startswith("PYTEST")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="vaxops.settings.demo",
        VAXOPS_VAR_DIR=str(var_dir),
        PYTHONPATH=str(ROOT),
    )
    return env


def _get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    c = HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def _gunicorn_runs() -> str:
    """Why gunicorn cannot start at all here (empty when it can)."""
    if not GUNICORN.exists():
        return f"gunicorn is not installed beside {sys.executable} (pip install -e .)"
    try:
        subprocess.run([str(GUNICORN), "--version"], capture_output=True, check=True, timeout=60)  # noqa: S603
    except (OSError, subprocess.SubprocessError) as e:
        return f"gunicorn cannot be run: {e}"
    return ""


def test_the_demo_serves_pages_static_files_and_the_friendly_404_through_gunicorn(tmp_path):
    why = _gunicorn_runs()
    if why:
        pytest.skip(why)
    env = _env(tmp_path)
    for command in (["migrate", "--verbosity", "0"], ["collectstatic", "--noinput", "--verbosity", "0"]):
        done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
            [sys.executable, "-m", "vaxops.cli", *command], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        # The Makefile's command line, with one worker.
        server = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, fixed arguments
            [
                str(GUNICORN),
                "vaxops.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "2",
                "--timeout",
                "300",
                "--graceful-timeout",
                "15",
                "--no-control-socket",
                "--access-logfile",
                "-",
            ],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status, _, body = _get(port, "/accounts/login/")
                break
            except OSError:
                assert server.poll() is None, "gunicorn stopped:\n" + log.read_text()
                assert time.monotonic() < deadline, "gunicorn did not answer in 120 s:\n" + log.read_text()
                time.sleep(0.3)
        page = body.decode()
        assert status == 200, page[:500]
        assert "登录" in page and "csrfmiddlewaretoken" in page

        # A static file: the page names it by its hashed name (the manifest collectstatic wrote), and WhiteNoise
        # serves it from the application with a year's caching.
        favicon = re.search(r'href="(/static/vaxops/favicon\.[0-9a-f]{12}\.svg)"', page)
        assert favicon, "the login page links the favicon by its hashed name"
        status, headers, body = _get(port, favicon.group(1))
        assert status == 200 and body.lstrip().startswith(b"<svg")
        assert headers["content-type"].startswith("image/svg+xml")
        assert "max-age=315360000" in headers.get("cache-control", ""), headers

        # A missing page: the friendly Chinese 404, DEBUG off (no URL list, no English debug page).
        status, _, body = _get(port, "/no/such/page/")
        missing = body.decode()
        assert status == 404
        assert "找不到这个页面" in missing and "返回首页" in missing
        for debug in ("Page not found", "URLconf", "DEBUG = True", "Traceback"):
            assert debug not in missing
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert server.returncode == 0, log.read_text()

"""The production server for the HTTP benchmarks (``vaxops bench booking|doses``): gunicorn with ``gthread``
workers and persistent database connections, on a free local port, started and stopped around a run."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from http.client import HTTPConnection
from pathlib import Path

from django.conf import settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn_running(*, workers: int, threads: int, token: str, log_name: str):
    """Start gunicorn on a free port, wait until an authenticated ``GET /api/v1/sites`` answers 200, yield the
    port, and stop the server afterwards. Its stderr goes to ``var/<log_name>``. Raises RuntimeError when it
    does not come up within 30 s."""
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "vaxops.settings.base", "VAXOPS_DEBUG": "0",
           "VAXOPS_CONN_MAX_AGE": "600", "VAXOPS_WORKERS": "1"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    with (Path(settings.VAR_DIR) / log_name).open("w") as server_log:
        server = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, fixed arguments
            [str(gunicorn), "vaxops.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", str(workers),
             "--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "60",
             "--log-level", "warning", "--backlog", "2048"],
            env=env, stdout=subprocess.DEVNULL, stderr=server_log)
        try:
            deadline = time.time() + 30
            while True:
                try:
                    c = HTTPConnection("127.0.0.1", port, timeout=2)
                    c.request("GET", "/api/v1/sites", headers={"Authorization": f"Bearer {token}"})
                    r = c.getresponse()
                    r.read()
                    if r.status == 200:
                        break
                except OSError:
                    pass
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError(f"gunicorn did not start (see var/{log_name})")
                time.sleep(0.3)
            yield port
        finally:
            server.terminate()
            server.wait(timeout=30)

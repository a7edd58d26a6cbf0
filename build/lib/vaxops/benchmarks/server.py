"""What the HTTP benchmarks (``vaxops bench booking|doses``) share: the production server (gunicorn with
``gthread`` workers and persistent database connections, on a free local port, started and stopped around a
run), the raw database's connection settings and timed threads for its baseline, and the percentile."""

import contextlib
import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
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
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vaxops.settings.base",
        "VAXOPS_DEBUG": "0",
        "VAXOPS_CONN_MAX_AGE": "600",
        "VAXOPS_WORKERS": "1",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    with (Path(settings.VAR_DIR) / log_name).open("w") as server_log:
        server = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, fixed arguments
            [
                str(gunicorn),
                "vaxops.wsgi:application",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                str(workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(threads),
                "--keep-alive",
                "60",
                "--log-level",
                "warning",
                "--backlog",
                "2048",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=server_log,
        )
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


def pg_dsn() -> dict:
    """Connection arguments for psycopg to the configured database (the raw baseline's own connections)."""
    db = settings.DATABASES["default"]
    return dict(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname=db["NAME"],
        password=db["PASSWORD"] or None,
    )


def threads_timed(work: Callable[[Sequence], None], shares: Sequence[Sequence]) -> float:
    """Run ``work(share)`` for every share in its own thread at once; the seconds until all are done."""
    threads = [threading.Thread(target=work, args=(share,)) for share in shares]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def percentile(sorted_values: list[float], q: float) -> float:
    """The nearest-rank ``q`` percentile of already sorted values (0.0 for none)."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(len(sorted_values) * q) - 1))]

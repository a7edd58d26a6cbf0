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
def gunicorn_running(*, workers: int, threads: int, token: str, log_name: str, info: dict | None = None):
    """Start gunicorn on a free port, wait until an authenticated ``GET /api/v1/sites`` answers 200, yield the
    port, and stop the server afterwards (``info["pid"]``, when given, is the server's process id). Its stderr goes to ``var/<log_name>``. Raises RuntimeError when it
    does not come up within 120 s (its workers import the whole project: slow on a loaded machine)."""
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
        if info is not None:
            info["pid"] = server.pid
        try:
            deadline = time.time() + 120
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


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a local process has used (``/proc``), or None where it cannot be read (another
    host's database server, another operating system). On a shared machine the CPU a run used is a steadier
    figure than its wall time, which waits on everyone else's work."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds of each live child of ``pid`` (gunicorn's workers)."""
    out: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            out[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def backends_cpu_seconds(*, exclude_own: bool = True) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to the configured database (by ``pg_stat_activity``),
    when the server runs on this machine; empty otherwise."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND (pid <> pg_backend_pid() OR NOT %s)",
            [exclude_own],
        )
        pids = [row[0] for row in c.fetchall()]
    out = {}
    for pid in pids:
        seconds = process_cpu_seconds(pid)
        if seconds is not None:
            out[pid] = seconds
    return out


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two snapshots of processes (a process started in between counts from 0)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


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

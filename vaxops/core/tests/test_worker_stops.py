"""``vaxops worker`` run as a real process: it exits on SIGTERM and SIGINT, promptly even while a task runs,
and leaves none of its processes behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vaxops.core.management.commands.worker import _descendants

ROOT = Path(__file__).resolve().parents[3]


def _env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="vaxops.settings.base",
        VAXOPS_VAR_DIR=str(var_dir),
        PYTHONPATH=str(ROOT),
        VAXOPS_WORKERS="1",
    )
    return env


def _vaxops(var_dir: Path, *args: str, **kwargs):
    return subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "vaxops.cli", *args], env=_env(var_dir), cwd=ROOT, check=True, **kwargs
    )


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("worker-var")
    _vaxops(d, "migrate", "--verbosity", "0", timeout=900)  # a loaded machine migrates slowly
    return d


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start(var_dir: Path) -> subprocess.Popen:
    p = subprocess.Popen(
        [sys.executable, "-m", "vaxops.cli", "worker", "--grace", "2"],
        env=_env(var_dir),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(_descendants(p.pid)) < 3 and time.monotonic() < deadline:  # sentinel, worker, monitor, pusher
        time.sleep(0.2)
    assert p.poll() is None, p.stdout.read()
    return p


def _stop(p: subprocess.Popen, sig: int) -> float:
    processes = _descendants(p.pid)
    assert processes, "the cluster's processes were found"
    started = time.monotonic()
    p.send_signal(sig)
    out, _ = p.communicate(timeout=30)
    took = time.monotonic() - started
    assert p.returncode == 0, out
    assert "后台任务进程已停止" in out
    assert [pid for pid in processes if _alive(pid)] == []
    return took


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_idle_worker_exits_on_signal(var_dir, sig):
    took = _stop(_start(var_dir), sig)
    assert took < 10


def test_busy_worker_exits_within_its_grace(var_dir):
    _vaxops(var_dir, "shell", "-c", "from django_q.tasks import async_task; async_task('time.sleep', 300)")
    p = _start(var_dir)
    # Wait until the task is running (the pusher has taken it from the queue's table).
    code = "from django_q.models import OrmQ; print(OrmQ.objects.filter(lock__isnull=True).count())"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        left = _vaxops(var_dir, "shell", "-c", code, capture_output=True, text=True).stdout.strip()
        if left == "0":
            break
        time.sleep(0.5)
    time.sleep(1)
    took = _stop(p, signal.SIGTERM)
    assert took < 15  # 2 s of grace, then the task is ended; without it the worker waited 300 s

"""``vaxops worker``: the background task worker (django-q2's cluster), which stops when asked.

django-q2's ``qcluster`` returns from its command at once and leaves its processes to be joined at interpreter
exit; on SIGTERM it lets every worker finish its running task and every task already fetched before it stops,
which can take many minutes (an import, a rebuild), so a stopped demo left a worker behind. Here the command
waits for SIGTERM or SIGINT itself, asks the cluster to stop, gives its tasks ``--grace`` seconds to end, then
ends whatever of the cluster still runs (a task cut short stays in the queue and is tried again when its
``retry`` time has passed) and exits 0.
"""

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

from django.core.management.base import BaseCommand


def _descendants(pid: int) -> list[int]:
    """The process ids below ``pid`` (Linux /proc), deepest last."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _end(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


class Command(BaseCommand):
    help = (
        "启动后台任务进程（导入、提醒、日报等），收到 SIGTERM/SIGINT 即停止。Run the background task worker."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--grace",
            type=float,
            default=float(os.environ.get("VAXOPS_WORKER_GRACE", "10")),
            help="停止时等待正在运行的任务的秒数 / seconds running tasks get to end when stopping (default 10)",
        )

    def handle(self, *args, grace: float, **options):
        from django_q.cluster import Cluster

        stop = threading.Event()
        cluster = Cluster()  # installs its own handlers: ours replace them below

        def on_signal(signum, frame):
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        cluster.start()
        self.stdout.write(f"后台任务进程已启动（pid {os.getpid()}）/ worker started", ending="\n")
        self.stdout.flush()
        while not stop.wait(0.5):
            if not cluster.sentinel.is_alive():
                break
        self.stdout.write("正在停止后台任务进程 / stopping the worker", ending="\n")
        self.stdout.flush()
        if cluster.stop_event is not None:
            cluster.stop_event.set()
        deadline = time.monotonic() + grace
        while cluster.sentinel.is_alive() and time.monotonic() < deadline:
            cluster.sentinel.join(0.2)
        left = _descendants(os.getpid())
        if left:
            _end(left, signal.SIGTERM)
            deadline = time.monotonic() + 3
            while _descendants(os.getpid()) and time.monotonic() < deadline:
                time.sleep(0.1)
                for pid in left:  # reap our own children so they do not linger as zombies
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(pid, os.WNOHANG)
            _end(_descendants(os.getpid()), signal.SIGKILL)
        self.stdout.write("后台任务进程已停止 / worker stopped", ending="\n")
        self.stdout.flush()
        os._exit(0)  # multiprocessing's exit handler would join the processes just ended

"""Running a producer in a second thread, so reading and checking rows overlaps with the database writing them."""

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def read_ahead(items: Iterable[T], *, chunk: int = 500, depth: int = 8) -> Iterator[T]:
    """Yield ``items`` as they are produced by a background thread, at most ``depth`` chunks ahead.

    The producer must not touch the database: Django connections are per thread
    (and an in-memory SQLite database is per connection). An exception in the
    producer is raised here, in the consumer, at the point it was reached: after
    every item produced before it.
    Closing this generator early stops the producer.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(obj) -> bool:
        while not stop.is_set():
            try:
                q.put(obj, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        buf: list = []
        try:
            for item in items:
                buf.append(item)
                if len(buf) >= chunk:
                    if not put(buf):
                        return
                    buf = []
            if buf and not put(buf):
                return
            put(_DONE)
        except BaseException as e:  # handed to the consumer, raised there, after the items read before it
            if buf and not put(buf):
                return
            put(e)

    worker = threading.Thread(target=produce, name="vaxops-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            got = q.get()
            if got is _DONE:
                return
            if isinstance(got, BaseException):
                raise got
            yield from got
    finally:
        stop.set()
        worker.join(timeout=5)


def read_ahead_in_process(
    items: Iterable[T], *, position=None, on_position=None, chunk: int = 1000, depth: int = 8
) -> Iterator[T]:
    """Like ``read_ahead``, but the producer is a forked child process: true parallelism on a second core.

    For large imports, where checking rows is pure Python and would otherwise
    share one interpreter lock with the writer. The child must not touch the
    database or any shared file position the parent still uses; it ends with
    ``os._exit`` (multiprocessing's fork start), so no cleanup of the parent's
    connections runs in it. ``position()`` is read in the child after each chunk
    and handed to ``on_position`` in the parent (progress reporting).
    Items must be picklable; an exception in the child is raised here.
    """
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    q = ctx.Queue(maxsize=depth)

    def produce() -> None:
        buf: list = []
        try:
            for item in items:
                buf.append(item)
                if len(buf) >= chunk:
                    q.put((buf, position() if position else None))
                    buf = []
            q.put((buf, position() if position else None))
            q.put(_DONE_MARK)
        except BaseException as e:  # after the items read before it
            if buf:
                q.put((buf, position() if position else None))
            q.put(("error", e))

    child = ctx.Process(target=produce, name="vaxops-read-ahead", daemon=True)
    child.start()
    try:
        while True:
            got = q.get()
            if got == _DONE_MARK:
                return
            if got[0] == "error":
                raise got[1]
            buf, pos = got
            if on_position is not None and pos is not None:
                on_position(pos)
            yield from buf
    finally:
        if child.is_alive():
            child.terminate()
        child.join(timeout=5)
        q.close()


_DONE_MARK = "__vaxops_done__"

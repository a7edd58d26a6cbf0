"""Run the same work from several threads at once, each on its own database connection (PostgreSQL tests of
what the database guarantees under concurrency)."""

import threading

from django.db import connections

from vaxops.core.errors import ValidationFailed


def race(n: int, work, *, keep_result: bool = False) -> list:
    """Run ``work(i)`` for i in 0..n-1 in ``n`` threads released together by a barrier. Each outcome is
    ``"ok"`` (or, with ``keep_result``, what ``work`` returned) or the Chinese message of the
    ``ValidationFailed`` it raised; any other exception fails the test (a thread that did not finish)."""
    barrier = threading.Barrier(n)
    outcomes: list = []
    guard = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            try:
                result = work(i)
                outcome = result if keep_result else "ok"
            except ValidationFailed as e:
                outcome = e.message
            with guard:
                outcomes.append(outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(outcomes) == n, "a thread did not finish"
    return outcomes

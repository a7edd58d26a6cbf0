"""Django's PostgreSQL backend with a cheaper health check.

``CONN_HEALTH_CHECKS`` makes Django check a kept connection before a request first uses it, so that one killed
on the server side (a PostgreSQL restart or failover, ``pg_terminate_backend``) is replaced instead of failing
the request. Django's check is a ``SELECT 1``: a round trip and a statement on every request. Here a connection
used less than ``VAXOPS_DB_HEALTH_CHECK_IDLE_SECONDS`` ago is judged without one: a backend that ends its
connection — a restart, a failover of the server process, a terminated backend — sends its error and closes the
socket, so a dead connection has something to read (or a hang-up) while a healthy idle one has nothing; a poll of
the socket with no wait tells them apart. When the socket has anything to read, the transaction state is not
idle, or the connection was idle longer (a firewall or NAT may have dropped it silently: nothing to read then), the
``SELECT 1`` runs as before. A connection that dies in the middle of a request is still answered by
``core.middleware.DatabaseLostMiddleware``.
"""

import select
import time

from django.conf import settings
from django.db.backends.postgresql import base


def _quiet(raw) -> bool:
    """Whether psycopg connection ``raw`` is open, idle and has nothing waiting on its socket."""
    from psycopg import pq

    if raw.closed or raw.broken or raw.pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    try:
        fd = raw.pgconn.socket
    except Exception:  # noqa: BLE001 - no socket: the connection is gone
        return False
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP)
    return not poller.poll(0)


class DatabaseWrapper(base.DatabaseWrapper):
    # Monotonic time the connection last served a request (or was opened).
    last_used: float = 0.0

    def connect(self):
        super().connect()
        self.last_used = time.monotonic()

    def is_usable(self) -> bool:
        if self.connection is None:
            return False
        idle = time.monotonic() - self.last_used
        if idle < settings.VAXOPS_DB_HEALTH_CHECK_IDLE_SECONDS and _quiet(self.connection):
            return True
        return super().is_usable()

    def close_if_unusable_or_obsolete(self):
        # Called when a request starts and when it ends; at the end, ``health_check_done`` says the request used
        # the connection (it was checked, or opened, for it).
        if self.connection is not None and self.health_check_done:
            self.last_used = time.monotonic()
        super().close_if_unusable_or_obsolete()

"""A health check for reused PostgreSQL connections that costs no round trip.

With CONN_HEALTH_CHECKS on, Django sends ``SELECT 1`` before the first query of
every request that reuses a connection. On the pixel path that is a second round
trip beside the one statement that stores the pixel (issue 13). What the check
exists to catch — a server that restarted, an idle-session timeout, a proxy that
hung up — reaches the client as a readable socket: the server's goodbye message
and then end-of-file. A healthy idle connection has nothing to read. So this
middleware looks at the socket without waiting; if it is quiet, Django's check
is marked done, and if anything at all is waiting, Django's own ``SELECT 1``
runs as before and reconnects if it must.
"""

import select

import psycopg
from django.db import connections


def socket_is_quiet(wrapper) -> bool:
    """True when ``wrapper``'s open PostgreSQL connection is idle with nothing to read."""
    raw = wrapper.connection
    idle = psycopg.pq.TransactionStatus.IDLE  # connected, outside any transaction
    if raw is None or raw.closed or raw.info.transaction_status != idle:
        return False
    try:
        fd = raw.pgconn.socket
    except psycopg.Error:  # closed under us: let Django check the usual way
        return False
    return not has_data(fd)


def has_data(fd: int) -> bool:
    """True when ``fd`` has something to read (or was hung up), without waiting.

    ``poll``, not ``select``: select() refuses descriptors from 1024 on, which a
    busy process with many connections and files open reaches (every pixel then
    answered 500). poll has no such limit and needs no descriptor of its own
    (an epoll selector would open one per call).
    """
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class QuietConnectionCheckMiddleware:
    """Skip Django's ``SELECT 1`` for a PostgreSQL connection whose socket is quiet."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for wrapper in connections.all(initialized_only=True):
            if (
                wrapper.vendor == "postgresql"
                and wrapper.health_check_enabled
                and not wrapper.health_check_done
                and socket_is_quiet(wrapper)
            ):
                wrapper.health_check_done = True
        return self.get_response(request)

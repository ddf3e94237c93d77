"""The quiet-connection check works on any descriptor number (issue 25, item 10).

select.select() raises ValueError for descriptors from 1024 on; a busy web
process reaches them, and every pixel answered 500.
"""

import os
import resource
import socket

import pytest

from portal.connection_check import has_data

HIGH_FD = 2000


@pytest.fixture
def high_socket():
    """One end of a socket pair, moved to a descriptor number select() cannot take."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= HIGH_FD:
        pytest.skip(f"the hard limit on open files ({hard}) is below {HIGH_FD}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, HIGH_FD + 1), hard))
    mine, theirs = socket.socketpair()
    os.dup2(mine.fileno(), HIGH_FD)
    try:
        yield HIGH_FD, theirs
    finally:
        os.close(HIGH_FD)
        mine.close()
        theirs.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_quiet_socket_above_1024_is_quiet(high_socket):
    fd, _ = high_socket
    assert has_data(fd) is False


def test_a_socket_above_1024_with_data_waiting_is_seen(high_socket):
    fd, other_end = high_socket
    other_end.sendall(b"goodbye")
    assert has_data(fd) is True


def test_a_hung_up_socket_above_1024_is_seen(high_socket):
    fd, other_end = high_socket
    other_end.close()
    assert has_data(fd) is True

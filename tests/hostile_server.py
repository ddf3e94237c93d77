"""A real local TCP server that answers HTTP requests badly, on purpose.

Each accepted connection reads the request head and then plays the next *script*:
a list of steps, each bytes to send or a pause (seconds, or a threading.Event to
wait for). After the last step the connection is closed, unless the script ends
with ``HANG``, which keeps it open until the server stops. Every server stops by
itself when the test ends (``stop()``), so no test can hang on it.
"""

import socket
import threading
import time

HANG = object()


class HostileServer:
    def __init__(self, *scripts):
        self.scripts = list(scripts)
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()

    def _next_script(self):
        with self._lock:
            return self.scripts.pop(0) if len(self.scripts) > 1 else self.scripts[0]

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._play, args=(conn,), daemon=True).start()

    def _play(self, conn):
        with conn:
            head = b""
            conn.settimeout(5)
            try:
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    head += chunk
            except OSError:
                return
            with self._lock:
                self.requests.append(head)
            for step in self._next_script():
                if self._stop.is_set():
                    return
                try:
                    if step is HANG:
                        self._stop.wait(60)
                        return
                    if isinstance(step, threading.Event):
                        step.wait(30)
                    elif isinstance(step, (int, float)):
                        time.sleep(step)
                    else:
                        conn.sendall(step)
                except OSError:
                    return  # the client gave up (deadline, timeout); that is the point


def response(status: str, body: bytes = b"ok", **headers) -> bytes:
    """Return a whole HTTP/1.1 response with Content-Length (unless overridden)."""
    lines = [f"HTTP/1.1 {status}", "Connection: close"]
    headers.setdefault("Content_Length", str(len(body)))
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def drip(data: bytes, every: float) -> list:
    """Steps that send ``data`` one byte at a time, pausing ``every`` seconds between."""
    steps = []
    for byte in data:
        steps += [bytes([byte]), every]
    return steps

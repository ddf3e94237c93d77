"""What gunicorn itself does before Django sees a request: its access log and its refusals.

Loaded by ``gunicorn.conf.py`` (project root), which gunicorn reads from its
working directory.

- ``RedactingLogger``: the access log shows the request line and query string;
  partners and dialers put credentials there (``lead_token`` in Ringba GET pixels,
  ``auth_token`` and ``offer_token`` from TrackDrive clients). The values of every
  name in ``integrations.credentials`` are written as ``[redacted]``.
- ``JsonErrorWorker``: a request line over ``limit_request_line`` is refused by
  gunicorn before Django runs; it answered an HTML page. The API's clients read
  JSON, so that refusal is JSON and says what to do instead (POST).
"""

import json

from gunicorn import util
from gunicorn.glogging import Logger
from gunicorn.http.errors import LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker

from integrations import credentials

REDACTED = "[redacted]"


def redact_query(query: str) -> str:
    """Return ``query`` with every credential's value replaced, all else as sent."""
    return credentials.redact_query(query, replacement=REDACTED)


def redact_uri(uri: str) -> str:
    path, separator, query = uri.partition("?")
    return f"{path}?{redact_query(query)}" if separator else uri


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["q"] = redact_query(atoms.get("q") or "")
        method, _, rest = atoms["r"].partition(" ")
        uri, _, protocol = rest.rpartition(" ")
        atoms["r"] = f"{method} {redact_uri(uri)} {protocol}"
        return atoms


class JsonErrorWorker(ThreadWorker):
    """gunicorn's threaded worker, refusing an over-long request line with JSON."""

    def handle_error(self, req, client, addr, exc):
        if not isinstance(exc, LimitRequestLine):
            return super().handle_error(req, client, addr, exc)
        self.log.warning("Request line too long from ip=%s: %s", addr[0], exc)
        limit = self.cfg.limit_request_line
        body = json.dumps(
            {
                "success": False,
                "status": "rejected",
                "errors": [
                    f"request: the request line is longer than {limit} bytes; send the pixel "
                    "as POST with a JSON body (Ringba: Advanced Instructions, method POST)"
                ],
            }
        ).encode()
        head = (
            "HTTP/1.1 414 URI Too Long\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("latin1")
        try:
            util.write_nonblock(client, head + body)
        except Exception:  # the client is gone: nothing more to tell it
            self.log.debug("could not send the 414 to %s", addr[0])
        return None

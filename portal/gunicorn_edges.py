"""What gunicorn itself does before Django sees a request: its access log and its refusals.

Loaded by ``gunicorn.conf.py`` (project root), which gunicorn reads from its
working directory.

- ``RedactingLogger``: the access log shows the request line and query string;
  partners and dialers put credentials there (``lead_token`` in Ringba GET pixels,
  ``auth_token`` and ``offer_token`` from TrackDrive clients). The values of every
  name in ``integrations.rules.credentials`` are written as ``[redacted]``.
- ``JsonErrorWorker``: a request line over ``limit_request_line`` (414) or headers
  over gunicorn's limits (431) are refused by gunicorn before Django runs; it
  answered an HTML page. The API's clients read JSON, so those refusals are JSON
  and say what to do instead.
"""

import json

from gunicorn import util
from gunicorn.glogging import Logger
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker

from integrations.rules import credentials

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


# Refusals gunicorn makes before Django runs, answered as the API answers: JSON that
# says what to change. (status line, message) per error class.
_JSON_REFUSALS = {
    LimitRequestLine: (
        "414 URI Too Long",
        "request: the request line is longer than {line} bytes; send the pixel as POST with "
        "a JSON body (Ringba: Advanced Instructions, method POST)",
    ),
    LimitRequestHeaders: (
        "431 Request Header Fields Too Large",
        "request: the headers are too large (at most {fields} headers of {field_size} bytes "
        "each); send fewer or shorter headers — the API needs only Authorization and "
        "Content-Type",
    ),
}


class JsonErrorWorker(ThreadWorker):
    """gunicorn's threaded worker, refusing over-long request lines and headers with JSON."""

    def handle_error(self, req, client, addr, exc):
        refusal = next(
            (value for kind, value in _JSON_REFUSALS.items() if isinstance(exc, kind)), None
        )
        if refusal is None:
            return super().handle_error(req, client, addr, exc)
        self.log.warning("Refused request from ip=%s: %s", addr[0], exc)
        status_line, message = refusal
        body = json.dumps(
            {
                "success": False,
                "status": "rejected",
                "errors": [
                    message.format(
                        line=self.cfg.limit_request_line,
                        fields=self.cfg.limit_request_fields,
                        field_size=self.cfg.limit_request_field_size,
                    )
                ],
            }
        ).encode()
        head = (
            f"HTTP/1.1 {status_line}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("latin1")
        try:
            util.write_nonblock(client, head + body)
        except Exception:  # the client is gone: nothing more to tell it
            self.log.debug("could not send the refusal to %s", addr[0])
        return None

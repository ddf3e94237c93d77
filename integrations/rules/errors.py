"""The one way the domain refuses a request: ``Rejected``, with a kind and messages.

Services raise it; they know nothing of HTTP. The API's exception handler maps the
kind to a status (``api.errors.STATUS_FOR_KIND``) and the admin shows the messages.
Each message reads ``"<field>: <what is wrong and how to fix it>"``.
"""

import enum


class RejectionKind(enum.StrEnum):
    INVALID = "invalid"  # a field is missing or wrong (HTTP 422)
    UNAUTHORIZED = "unauthorized"  # a credential in the payload is wrong (401)
    CONFLICT = "conflict"  # it clashes with what exists (409)
    NOT_FOUND = "not_found"  # what it names does not exist (404)


class Rejected(Exception):
    """The request cannot be applied; ``errors`` say which field and why."""

    def __init__(self, kind: RejectionKind, errors: list[str]):
        super().__init__("; ".join(errors))
        self.kind = kind
        self.errors = errors

"""A logging filter that cuts credentials out of every line the process writes.

Django's development server logs each request line with its query string, and
TrackDrive's clients put their key there (``?auth_token=…``, ``offer_token=…``).
Attached to the handlers in ``settings.LOGGING``, so no logger can write one in full.
"""

import logging

from integrations.rules.credentials import redact_text


class RedactCredentials(logging.Filter):
    """Rewrite a record whose message names a credential with its value cut."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True

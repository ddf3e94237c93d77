"""Secrets stored by an earlier release still decrypt after the code moves.

The key derived from SECRET_KEY is salted with a fixed byte string; it names the
module's first home and must never follow the module when it moves, or every
stored Ringba API token and signing secret becomes unreadable.
"""

from integrations.infra.secrets_at_rest import decrypt

# Made once with Fernet and the derived key for SECRET_KEY below (no FIELD_ENCRYPTION_KEYS).
STORED_BY_AN_EARLIER_RELEASE = (
    "gAAAAABrFYcUKNg4F6tTw_KrglwComheIktXwEDhSLHj55q6DHLqju1rCueM03LzbIou9chc4hZPYYKaWsYHQXgW"
    "hs2lvz_N-A=="
)


def test_a_secret_stored_before_the_move_still_decrypts(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    settings.SECRET_KEY = "a-secret-key-of-an-older-release"
    assert decrypt(STORED_BY_AN_EARLIER_RELEASE) == "rb_token_1234"

"""Fixtures for the money tests: the partner's Ringba, webhook and REST API alike."""

import pytest

from integrations.devtools.ringba_stand_in import Behaviour, RingbaReceiver
from integrations.models import AdjustmentMode
from integrations.services.partner_credentials import set_ringba_token
from tests import factories

ACCOUNT, TOKEN = "RA-partner-1", "partner-granted-token-0123456789"


@pytest.fixture
def ringba(settings):
    """The stand-in as the partner's Ringba: one conversion per call id, and its API.

    The API answers the partner's account with its token (``ACCOUNT``, ``TOKEN``).
    """
    server = RingbaReceiver(
        behaviour=Behaviour(one_conversion_per_call=True), api_tokens={ACCOUNT: TOKEN}
    ).start()
    settings.RINGBA_WEBHOOK_BASE_URL = server.base_url
    settings.RINGBA_API_BASE_URL = server.api_base_url
    settings.POSTBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.POSTBACK_ALLOW_PRIVATE_IPS = True
    yield server
    server.stop()


@pytest.fixture
def partner(ringba, ringba_setup, ringba_trigger):
    """``ringba_setup`` whose partner granted its Ringba token, with a webhook mapping."""
    source = ringba_setup["source"]
    source.adjustment_mode = AdjustmentMode.PARTNER_TOKEN
    source.ringba_account_id = ACCOUNT
    source.save()
    set_ringba_token(source=source, token=TOKEN, who="test")
    factories.MappingFactory(trigger=ringba_trigger, traffic_source=source, value="HOOK")
    return ringba_setup


@pytest.fixture
def books(partner, ringba_trigger):
    """Our calls, one per reconciliation label, and the partner's call log (call_logs)."""
    from .call_logs import make_books

    return make_books(partner, ringba_trigger)

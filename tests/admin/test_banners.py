"""The health banner on a bad day (issue 34, item 6): current, merged, since when, and
honest about alerts that reach nobody."""

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import DeliveryStatus, DestinationHealth, EventTrigger, PostbackDelivery
from tests import factories

pytestmark = pytest.mark.django_db

HOST = "127.0.0.1:8799"
ERROR = f"Connection refused by {HOST} — connection error: HTTPConnectionPool(...)"


@pytest.fixture
def bad_day(settings, ringba_trigger):
    settings.TRIGGER_ALERT_AFTER_FAILURES = 3
    DestinationHealth.objects.create(
        host=HOST, consecutive_failures=9, failing_since=timezone.now(), last_error=ERROR
    )
    waiting = PostbackDelivery.objects.create(
        trigger=ringba_trigger,
        event="call_offer_converted",
        status=DeliveryStatus.RETRYING,
        url=f"http://{HOST}/hook/x?call_id=1",
    )
    return {"trigger": ringba_trigger, "waiting": waiting}


def _home(admin_client) -> str:
    return admin_client.get(reverse("admin:index")).content.decode()


def test_a_failing_host_shows_while_postbacks_wait_for_it_and_says_since(admin_client, bad_day):
    page = _home(admin_client)
    assert f"Postbacks to <code>{HOST}</code> failing 9 times in a row since 0" in page


def test_the_host_line_goes_when_nothing_pending_targets_it(admin_client, bad_day):
    PostbackDelivery.objects.filter(pk=bad_day["waiting"].pk).update(status=DeliveryStatus.SKIPPED)
    assert f"Postbacks to <code>{HOST}</code>" not in _home(admin_client)


def test_a_host_a_failing_trigger_names_is_said_once(admin_client, bad_day):
    EventTrigger.objects.filter(pk=bad_day["trigger"].pk).update(
        consecutive_failures=9, failing_since=timezone.now(), last_error=ERROR
    )
    page = _home(admin_client)
    banner = page.split('id="dashboard"')[0]  # the dashboard's own table lists hosts too
    assert banner.count(f"<code>{HOST}</code>") == 1
    assert f"(<code>{HOST}</code> failing 9 times, any trigger)" in page
    assert "Failing 9 times in a row since 0" in page


def test_alerts_that_reach_nobody_are_said_in_the_console(admin_client, bad_day):
    assert "These alerts reach no one by email" in _home(admin_client)
    factories.account_manager(email="maria@example.com")
    assert "These alerts reach no one by email" not in _home(admin_client)


def test_no_empty_last_error(admin_client, bad_day):
    EventTrigger.objects.filter(pk=bad_day["trigger"].pk).update(
        consecutive_failures=9, failing_since=timezone.now(), last_error=""
    )
    assert "last error: <span" not in _home(admin_client).split("Failing 9 times")[1][:400]


def test_a_host_line_can_be_acknowledged_until_its_next_streak(admin_client, bad_day):
    from integrations.outbound.postbacks import Outcome, Verdict
    from integrations.services.deliveries import _update_destination_health

    host = DestinationHealth.objects.get(host=HOST)
    url = reverse("admin:integrations_postbackdelivery_acknowledge_host", args=[host.pk])
    assert 'class="button acknowledge-host"' in _home(admin_client)
    assert admin_client.get(url).status_code == 403  # a POST only
    answer = admin_client.post(url, {"next": "https://elsewhere.example/"})
    assert answer["Location"] == reverse("admin:index")  # never off-site
    assert f"Postbacks to <code>{HOST}</code>" not in _home(admin_client).split('id="dashboard"')[0]
    host.refresh_from_db()
    assert host.acknowledged_by == "admin"
    # A success ends the streak and clears the acknowledgement: the next streak shows.
    _update_destination_health(HOST, Outcome(Verdict.DELIVERED, 5, status_code=200), timezone.now())
    DestinationHealth.objects.filter(pk=host.pk).update(consecutive_failures=9)
    assert f"Postbacks to <code>{HOST}</code>" in _home(admin_client)

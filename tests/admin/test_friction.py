"""Small things that cost an account manager time (issue 14): typos, times, durations."""

from datetime import UTC

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from integrations.admin.links import in_words
from integrations.models import CustomFieldMapping, NumberToken, PostbackDelivery
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_misspelt_extra_token_is_refused_with_the_name_it_meant(ringba_setup, ringba_trigger):
    token = NumberToken(number=ringba_setup["number"], key="ringba_webhok_token", value="abc")
    with pytest.raises(ValidationError) as refused:
        token.full_clean()
    assert "did you mean ringba_webhook_token?" in str(refused.value)


def test_a_token_of_ones_own_is_accepted(ringba_setup):
    NumberToken(number=ringba_setup["number"], key="sub_publisher", value="x").full_clean()


def test_a_token_a_trigger_uses_is_known_even_if_close_to_another(ringba_setup, ringba_trigger):
    ringba_trigger.url_template += "&campaign=[ringba_webhook_tokens]"
    ringba_trigger.save()
    key = "ringba_webhook_tokens"
    NumberToken(number=ringba_setup["number"], key=key, value="x").full_clean()


def test_a_misspelt_mapping_is_refused_too(ringba_setup, ringba_trigger):
    mapping = CustomFieldMapping(
        trigger=ringba_trigger,
        token_name="ringba_webhok_token",
        traffic_source=ringba_setup["source"],
        value="abc",
    )
    with pytest.raises(ValidationError, match="did you mean ringba_webhook_token"):
        mapping.full_clean()


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "0 s"), (45, "45 s"), (185, "3 min 5 s"), (7800, "2 h 10 min"), (86400, "1 day")],
)
def test_durations_read_in_words(seconds, words):
    assert in_words(seconds) == words


def test_times_show_seconds_and_the_zone(admin_client, ringba_setup):
    call = factories.CallFactory(number=ringba_setup["number"])
    page = admin_client.get(reverse("admin:integrations_call_change", args=[call.pk])).text
    assert call.started_at.strftime("%Y-%m-%d %H:%M:%S") + " UTC" in page


def test_a_delivery_opens_as_a_view_without_save_buttons(
    admin_client, ringba_setup, ringba_trigger
):
    call = factories.CallFactory(number=ringba_setup["number"])
    delivery = PostbackDelivery.objects.create(
        trigger=ringba_trigger, call=call, event="call_offer_converted", status="failed"
    )
    page = admin_client.get(
        reverse("admin:integrations_postbackdelivery_change", args=[delivery.pk])
    ).text
    assert 'name="_save"' not in page
    changelist = admin_client.get(reverse("admin:integrations_postbackdelivery_changelist"))
    assert "resend_now" in changelist.text  # the action still needs and has "change"


def test_the_match_window_is_also_said_in_words(admin_client, ringba_setup):
    offer = ringba_setup["offer"]
    page = admin_client.get(reverse("admin:integrations_offer_change", args=[offer.pk])).text
    assert f"Now: {in_words(offer.match_window_seconds)}." in page


def test_each_account_manager_sees_times_in_their_own_zone(client, ringba_setup):
    from datetime import datetime

    call = factories.CallFactory(number=ringba_setup["number"])
    call.started_at = datetime(2026, 7, 1, 15, 4, 5, tzinfo=UTC)
    call.save()
    page_url = reverse("admin:integrations_call_change", args=[call.pk])
    chicago = factories.account_manager(username="chicago")
    client.force_login(chicago)
    assert "2026-07-01 15:04:05 UTC" in client.get(page_url).text
    response = client.post(reverse("admin-time-zone"), {"time_zone": "America/Chicago"})
    assert response.status_code == 302
    assert "2026-07-01 10:04:05 CDT" in client.get(page_url).text
    client.logout()
    client.force_login(chicago)  # a new session reads the saved preference
    assert "2026-07-01 10:04:05 CDT" in client.get(page_url).text
    client.force_login(factories.account_manager(username="utc"))
    assert "2026-07-01 15:04:05 UTC" in client.get(page_url).text


def test_an_unknown_zone_is_refused(client):
    client.force_login(factories.account_manager())
    response = client.post(reverse("admin-time-zone"), {"time_zone": "Mars/Olympus"})
    assert response.status_code == 200 and "Select a valid choice" in response.text

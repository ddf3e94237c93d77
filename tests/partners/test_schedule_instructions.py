"""Posting instructions for a Lead-to-Call schedule: the Finalized variant (SPEC §12)."""

import re

import pytest

from integrations.partner_page.links import partner_url
from integrations.services.offers import rotate_lead_token
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule(ringba_setup):
    schedule = factories.ScheduleFactory(
        name="Missed calls", offer=ringba_setup["offer"], traffic_sources=[ringba_setup["source"]]
    )
    schedule.contact_fields.create(name="first_name", position=0)
    return schedule


def _open(client, url):
    return client.get(url.removeprefix("http://testserver"))


def _settings(html: str) -> dict[str, str]:
    rows = re.findall(
        r'<th scope="row">(.*?)</th>\s*<td>\s*<(?:code|pre) id="[^"]+">(.*?)</', html, re.S
    )
    return {label.strip(): value.strip() for label, value in rows}


def test_the_share_link_shows_the_finalized_variant(client, schedule, ringba_setup, settings):
    settings.PUBLIC_BASE_URL = "http://testserver"
    response = _open(client, partner_url(schedule, ringba_setup["source"]))
    assert response.status_code == 200
    html = response.content.decode()
    shown = _settings(html)
    assert shown["Fire Pixel On"] == "Finalized"
    assert shown["Tag Filters"] == "Call Length From Connect = 0"
    assert "Call &gt; Call Length From Connect" in html  # where it is in Ringba
    assert "Lead-to-Call schedule <strong>Missed calls</strong>" in html
    assert schedule.lead_token in shown["Body"]
    assert ringba_setup["offer"].lead_token not in html  # not the offer's token
    assert "[tag:User:first_name]" in shown["Body"]


def test_an_offer_link_still_shows_connected(client, ringba_setup, settings):
    settings.PUBLIC_BASE_URL = "http://testserver"
    response = _open(client, partner_url(ringba_setup["offer"], ringba_setup["source"]))
    assert _settings(response.content.decode())["Fire Pixel On"] == "Connected (Answered)"


def test_rotating_the_schedule_token_kills_its_links(client, schedule, ringba_setup, settings):
    settings.PUBLIC_BASE_URL = "http://testserver"
    url = partner_url(schedule, ringba_setup["source"])
    rotate_lead_token(schedule)
    assert _open(client, url).status_code == 404


def test_the_schedule_admin_lists_each_sources_share_link(client, schedule, ringba_setup):
    client.force_login(factories.account_manager())
    response = client.get(f"/admin/integrations/schedule/{schedule.pk}/change/")
    assert response.status_code == 200
    assert ringba_setup["source"].name in response.content.decode()
    assert "/partners/instructions/" in response.content.decode()

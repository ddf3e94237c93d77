"""The home page starts with the work: is each offer ready for Ringba calls? (issue 14)"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.admin.checklist import offer_checklist
from integrations.devtools.demo import seed_demo
from integrations.services import rollups
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings):
    settings.RINGBA_WEBHOOK_BASE_URL = "https://webhook.ringba.com"
    return seed_demo()


def _row(offer):
    return next(row for row in offer_checklist() if row.offer.pk == offer.pk)


def test_the_demo_offer_is_ready(demo):
    row = _row(demo.offer)
    assert row.problems == []
    assert row.triggers == [demo.trigger]


def test_a_source_without_a_webhook_token_is_named(demo):
    other = factories.TrafficSourceFactory(name="Other Partner")
    demo.offer.traffic_sources.add(other)
    factories.NumberFactory(offer=demo.offer, traffic_source=other)
    assert _row(demo.offer).problems == ["no Ringba webhook token for Other Partner"]
    factories.MappingFactory(trigger=demo.trigger, traffic_source=other, value="tok")
    assert _row(demo.offer).problems == []


def test_what_a_new_offer_lacks_is_listed(demo):
    offer = factories.OfferFactory()
    assert _row(offer).problems == ["no traffic source enabled", "no active tracking number"]
    source = factories.TrafficSourceFactory()
    offer.traffic_sources.add(source)
    factories.NumberFactory(offer=offer, traffic_source=source)
    assert _row(offer).problems == [f"no Ringba webhook token for {source.name}"]


def test_the_checklist_costs_the_same_queries_for_one_offer_or_many(demo):
    with CaptureQueriesContext(connection) as one:
        offer_checklist()
    for _ in range(5):
        source = factories.TrafficSourceFactory()
        offer = factories.OfferFactory(traffic_sources=[source])
        factories.NumberFactory(offer=offer, traffic_source=source)
    with CaptureQueriesContext(connection) as six:
        assert len(offer_checklist()) == 6
    assert len(six) == len(one)


def test_the_home_page_leads_with_offers_and_folds_the_framework_away(client, demo):
    # Not admin_client: the demo resets the password of a user named "admin".
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:index")).text
    assert page.index("Offers at a glance") < page.index("Postback deliveries")
    assert "✔ ready" in page
    assert page.index("<details") < page.index("Groups") < page.index("</details>")
    assert "View site" not in page and reverse("api-docs") in page


def test_the_dashboard_shows_the_periods_figures(client, demo):
    from datetime import timedelta

    from django.utils import timezone

    from integrations.services.stats import stats

    client.force_login(factories.account_manager())
    source = demo.source
    factories.LeadFactory(offer=demo.offer, traffic_source=source)
    factories.CallFactory(number=demo.numbers[0])
    old = factories.CallFactory(number=demo.numbers[0])
    old.started_at = timezone.now() - timedelta(days=20)
    old.save()
    rollups.refresh(timezone.now() - timedelta(days=40), timezone.now() + timedelta(hours=1))
    response = client.get(reverse("admin:index"), {"days": "7", "source": source.pk})
    board = response.context["dashboard"]
    assert board.days == 7 and board.source_id == source.pk
    assert board.totals["calls"] == 1 and board.totals["pixels_accepted"] == 1
    assert len(board.charts) == 3 and "<svg" in response.text
    wider = client.get(reverse("admin:index"), {"days": "30"}).context["dashboard"]
    assert wider.totals["calls"] == 2
    end = timezone.now() + timedelta(days=1)
    assert wider.totals == stats(start=end - timedelta(days=32), end=end).totals


def test_the_dashboard_costs_the_same_queries_whatever_the_rows(client, demo):
    client.force_login(factories.account_manager())
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("admin:index"), {"days": "30"})
    for _ in range(10):
        factories.CallFactory(number=demo.numbers[0])
        factories.LeadFactory(offer=demo.offer, traffic_source=demo.source)
    rollups.refresh(timezone.now() - timedelta(days=40), timezone.now() + timedelta(hours=1))
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("admin:index"), {"days": "30"})
    assert len(many) == len(few)


def test_a_hand_edited_period_falls_back_to_seven_days(client, demo):
    client.force_login(factories.account_manager())
    response = client.get(reverse("admin:index"), {"days": "9999", "offer": "x"})
    board = response.context["dashboard"]
    assert board.days == 7 and board.offer_id is None

"""Every configuration change is on record: who, when, old → new (issue 14, SPEC §9)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from integrations.models import ContactField, EventTrigger, Offer
from integrations.services.offers import rotate_lead_token
from integrations.services.triggers import create_trigger_from_template
from tests import factories

from .forms import change_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(db):
    return factories.account_manager(username="maria")


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def _change(client, obj, **changes):
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    response = client.post(url, change_form_data(client.get(url), **changes))
    assert response.status_code == 302, response.context and [
        form.errors for form in [response.context["adminform"].form]
    ]


def _history_page(client, obj) -> str:
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_history", args=[obj.pk])
    response = client.get(url)
    assert response.status_code == 200
    return response.text


def test_an_offer_edit_records_who_and_old_to_new(manager_client, manager, ringba_setup):
    offer = ringba_setup["offer"]
    offer.payout = Decimal("12.50")
    offer.save()
    _change(manager_client, offer, payout="15.00")
    latest = offer.history.first()
    assert latest.history_user == manager
    changes = {c.field: (c.old, c.new) for c in latest.diff_against(latest.prev_record).changes}
    assert changes["payout"] == (Decimal("12.50"), Decimal("15.00"))
    page = _history_page(manager_client, offer)
    assert "maria" in page and "12.50" in page and "15.00" in page


def test_a_contact_field_edit_shows_on_its_offers_history(manager_client, ringba_setup):
    offer = ringba_setup["offer"]
    field = ContactField.objects.create(offer=offer, name="zip_code", description="Old words")
    _change(manager_client, offer, **{"contact_fields-0-description": "New words"})
    field.refresh_from_db()
    assert field.description == "New words"
    page = _history_page(manager_client, offer)
    assert "Changes to its contact fields" in page
    assert "Old words → New words" in page


def test_the_lead_token_is_never_copied_into_history(manager_client, ringba_setup):
    offer = ringba_setup["offer"]
    rotate_lead_token(offer)
    offer.refresh_from_db()
    assert "lead_token" not in {f.name for f in Offer.history.model._meta.fields}
    assert offer.history.first().lead_token_rotated_at == offer.lead_token_rotated_at
    assert offer.lead_token not in _history_page(manager_client, offer)


def test_admin_actions_show_on_the_history_page(manager_client, ringba_setup):
    offer = ringba_setup["offer"]
    response = manager_client.post(
        reverse("admin:integrations_offer_changelist"),
        {"action": "rotate_lead_tokens", "_selected_action": [offer.pk], "confirm": "yes"},
    )
    assert response.status_code in (200, 302)
    page = _history_page(manager_client, offer)
    assert "Lead token rotated" in page


def test_worker_health_writes_record_no_history(ringba_template):
    trigger = create_trigger_from_template(template=ringba_template)
    before = trigger.history.count()
    EventTrigger.objects.filter(pk=trigger.pk).update(consecutive_failures=3)
    assert trigger.history.count() == before


def test_history_shows_a_past_version_but_never_saves_it_back(manager_client, ringba_setup):
    offer = ringba_setup["offer"]
    original = offer.name
    _change(manager_client, offer, name="Renamed")
    first = offer.history.last()
    url = reverse("admin:integrations_offer_simple_history", args=[offer.pk, first.pk])
    shown = manager_client.get(url)
    assert shown.status_code == 200 and original in shown.text
    response = manager_client.post(url, change_form_data(shown))
    assert response.status_code == 403
    offer.refresh_from_db()
    assert offer.name == "Renamed"


def test_money_movements_and_credential_actions_are_in_their_objects_history(
    admin_client, calls_client, ringba_setup
):
    """Issue 34, item 3: a call's history lists its money; an API client's its key."""
    call = factories.CallFactory(number=ringba_setup["number"])
    calls_client.post(f"/api/v1/calls/{call.call_uuid}", {"offer_converted": "1"})
    call.refresh_from_db()
    admin_client.post(
        reverse("admin:integrations_call_changelist"),
        {
            "action": "unconvert",
            "_selected_action": [call.pk],
            "apply": "1",
            "conversion": "offer",
            "reason": "caller hung up in the IVR",
            f"version_{call.pk}": str(call.version),
        },
    )
    history = _history_page(admin_client, call)
    assert "No admin actions logged" not in history
    assert "conversion" in history and "caller hung up in the IVR" in history

    from integrations.models import ApiClient

    admin_client.post(
        reverse("admin:integrations_apiclient_add"),
        {"name": "Dialer", "may_use_calls": "on"},
    )
    client = ApiClient.objects.get(name="Dialer")
    admin_client.post(
        reverse("admin:integrations_apiclient_rotate", args=[client.pk]), {"confirm": "yes"}
    )
    admin_client.post(
        reverse("admin:integrations_apiclient_revoke", args=[client.pk]), {"confirm": "yes"}
    )
    history = _history_page(admin_client, client)
    assert "Key rotated" in history and "Revoked" in history


def test_a_trigger_or_offer_save_may_say_why(manager_client, ringba_setup, ringba_trigger):
    offer = ringba_setup["offer"]
    _change(manager_client, offer, name="Final Expense East", change_reason="partner asked")
    page = _history_page(manager_client, offer)
    assert "partner asked" in page
    assert offer.history.first().history_change_reason == "partner asked"
    _change(manager_client, ringba_trigger, name="Ringba, renamed", change_reason="typo")
    assert ringba_trigger.history.first().history_change_reason == "typo"
    _change(manager_client, offer, name="Final Expense")  # no reason: none is made up
    assert offer.history.first().history_change_reason is None


def test_a_save_that_changed_nothing_tracked_adds_no_empty_row(manager_client, ringba_setup):
    """Issue 34, item 3: no "Changed / None" rows from system writes."""
    offer = ringba_setup["offer"]
    _change(manager_client, offer, name="Renamed once")
    Offer.objects.get(pk=offer.pk).save()  # a system save: same values
    renamed, empty = list(offer.history.order_by("-history_date", "-history_id"))[1::-1]
    assert empty.diff_against(renamed).changes == []  # the row exists in the table…
    page = _history_page(manager_client, offer)
    assert f"/history/{renamed.history_id}/" in page  # …rows that changed something are listed
    assert f"/history/{empty.history_id}/" not in page  # …this one is not

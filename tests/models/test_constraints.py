"""Model validation and database constraints refuse bad data with clear messages."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from integrations.models import CustomFieldMapping, Lead, Number, NumberToken
from tests import factories

pytestmark = pytest.mark.django_db


def test_number_is_normalised_to_e164_on_clean(ringba_setup):
    number = Number(
        number="(800) 555-0199", offer=ringba_setup["offer"], traffic_source=ringba_setup["source"]
    )
    number.full_clean()
    assert number.number == "+18005550199"


def test_bad_phone_number_is_refused_with_a_message(ringba_setup):
    number = Number(
        number="not a phone", offer=ringba_setup["offer"], traffic_source=ringba_setup["source"]
    )
    with pytest.raises(ValidationError) as caught:
        number.full_clean()
    assert "Not a phone number" in str(caught.value.message_dict["number"])


def test_duplicate_number_is_refused_by_validation_and_by_the_database(ringba_setup):
    existing = ringba_setup["number"]
    duplicate = Number(
        number=existing.number, offer=ringba_setup["offer"], traffic_source=ringba_setup["source"]
    )
    with pytest.raises(ValidationError) as caught:
        duplicate.full_clean()
    assert "already exists" in str(caught.value.message_dict["number"])
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_number_needs_its_traffic_source_enabled_on_the_offer(ringba_setup):
    other = factories.TrafficSourceFactory()
    number = Number(number="+18005550198", offer=ringba_setup["offer"], traffic_source=other)
    with pytest.raises(ValidationError) as caught:
        number.full_clean()
    assert "Enable this traffic source" in str(caught.value.message_dict["traffic_source"])


def test_duplicate_extra_token_key_on_a_number_is_refused(ringba_setup):
    number = ringba_setup["number"]
    NumberToken.objects.create(number=number, key="ringba_webhook_token", value="a")
    duplicate = NumberToken(number=number, key="ringba_webhook_token", value="b")
    with pytest.raises(ValidationError):
        duplicate.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


@pytest.mark.parametrize("bad_key", ["Ringba-Token", "has space", "UPPER", ""])
def test_extra_token_key_must_be_a_token_name(ringba_setup, bad_key):
    token = NumberToken(number=ringba_setup["number"], key=bad_key, value="x")
    with pytest.raises(ValidationError) as caught:
        token.full_clean()
    assert "key" in caught.value.message_dict


def test_extra_token_cannot_shadow_a_system_token(ringba_setup):
    token = NumberToken(number=ringba_setup["number"], key="payout", value="999")
    with pytest.raises(ValidationError) as caught:
        token.full_clean()
    assert "computed by the system" in str(caught.value.message_dict["key"])


def test_pasted_ringba_webhook_url_becomes_the_token(ringba_setup):
    token = NumberToken(
        number=ringba_setup["number"],
        key="ringba_webhook_token",
        value="https://webhook.ringba.com/hook/abc123XYZ?call_id=[callUUID]&call_revenue=1",
    )
    token.full_clean()
    assert token.value == "abc123XYZ"


def test_a_url_that_is_not_a_ringba_webhook_is_refused(ringba_setup):
    token = NumberToken(
        number=ringba_setup["number"],
        key="ringba_webhook_token",
        value="https://evil.example.com/hook/abc",
    )
    with pytest.raises(ValidationError) as caught:
        token.full_clean()
    assert "not Ringba's webhook host" in str(caught.value.message_dict["value"])


def test_one_mapping_per_trigger_token_and_source(ringba_setup):
    mapping = factories.MappingFactory(traffic_source=ringba_setup["source"])
    duplicate = CustomFieldMapping(
        trigger=mapping.trigger,
        token_name=mapping.token_name,
        traffic_source=mapping.traffic_source,
        value="other",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_one_lead_per_offer_and_ringba_call_uuid(ringba_setup):
    lead = factories.LeadFactory(offer=ringba_setup["offer"], traffic_source=ringba_setup["source"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.create(
            offer=lead.offer,
            traffic_source=lead.traffic_source,
            caller_id=lead.caller_id,
            ringba_call_uuid=lead.ringba_call_uuid,
        )


def test_leads_without_ringba_call_uuid_are_not_constrained(ringba_setup):
    for _ in range(2):
        Lead.objects.create(
            offer=ringba_setup["offer"],
            traffic_source=ringba_setup["source"],
            caller_id="+13125550000",
            ringba_call_uuid=None,
        )
    assert Lead.objects.filter(ringba_call_uuid__isnull=True).count() == 2


def test_contact_field_name_must_be_a_token_name_and_not_reserved(ringba_setup):
    field = factories.ContactFieldFactory.build(offer=ringba_setup["offer"], name="First Name")
    with pytest.raises(ValidationError):
        field.full_clean()
    reserved = factories.ContactFieldFactory.build(offer=ringba_setup["offer"], name="payout")
    with pytest.raises(ValidationError) as caught:
        reserved.full_clean()
    assert "computed or routed" in str(caught.value)


def test_contact_field_pattern_must_compile(ringba_setup):
    field = factories.ContactFieldFactory.build(offer=ringba_setup["offer"], pattern="([a-z")
    with pytest.raises(ValidationError) as caught:
        field.full_clean()
    assert "Not a pattern this product can run" in str(caught.value.message_dict["pattern"])


def test_conversion_rule_needs_payout_and_duration_together(ringba_setup):
    offer = ringba_setup["offer"]
    offer.min_duration_seconds = None
    with pytest.raises(ValidationError) as caught:
        offer.full_clean()
    assert "both a payout and a minimum duration" in str(caught.value)


@pytest.mark.parametrize(
    "conditions, message",
    [
        ("not a list", "must be a JSON list"),
        ([{"token": "x"}], "operator"),
        ([{"token": "Bad Name", "operator": "is empty"}], "token must be a token name"),
        (
            [
                {
                    "token": "a",
                    "operator": "=",
                }
            ],
            "needs a value",
        ),
        ([{"token": "a", "operator": ">=", "value": "abc"}], "compares numbers"),
        ([{"token": "a", "operator": "is empty", "extra": 1}], "unknown keys"),
    ],
)
def test_malformed_conditions_are_refused_by_clean(conditions, message):
    trigger = factories.TriggerFactory.build(conditions=conditions)
    with pytest.raises(ValidationError) as caught:
        trigger.full_clean()
    assert message in str(caught.value)


def test_trigger_url_host_must_be_on_the_allow_list(db):
    trigger = factories.TriggerFactory.build(url_template="https://internal.example/hook/[x]")
    with pytest.raises(ValidationError) as caught:
        trigger.full_clean()
    assert "not an allowed postback host" in str(caught.value.message_dict["url_template"])

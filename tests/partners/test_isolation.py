"""One partner never merges into, is refused by, or reads another's leads (issue 25, 1 and 9).

Duplicates are per (offer, traffic source, caller): partner B's pixel for a
caller that partner A already sent is B's own lead, and B's answer carries
nothing of A's. The update/reject policy path serialises per (offer, caller)
like matching does, so it cannot deadlock with a call being recorded.
"""

import pytest
from django.test import Client

from integrations.models import DuplicatePolicy, Lead
from integrations.services.calls import record_call
from tests import factories
from tests.api.pixels import post_json
from tests.races import run_rounds

CALLER = "+13125550188"


@pytest.fixture
def two_partners(ringba_setup):
    partner_b = factories.TrafficSourceFactory()
    ringba_setup["offer"].traffic_sources.add(partner_b)
    return {**ringba_setup, "a": ringba_setup["source"], "b": partner_b}


def _pixel(setup, source, **fields):
    return {
        "lead_token": setup["offer"].lead_token,
        "traffic_source_id": source.traffic_source_id,
        "caller_id": CALLER,
        **fields,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("policy", [DuplicatePolicy.UPDATE, DuplicatePolicy.REJECT])
def test_another_partners_caller_is_a_new_lead_of_its_own(client, two_partners, policy):
    offer = two_partners["offer"]
    offer.duplicate_policy = policy
    offer.save()
    first = post_json(client, _pixel(two_partners, two_partners["a"], first_name="Ann"))

    second = post_json(client, _pixel(two_partners, two_partners["b"], first_name="Bob"))

    assert second.status_code == 201, second.content
    lead = second.json()["lead"]
    assert lead["id"] != first.json()["lead"]["id"]
    assert lead["traffic_source_id"] == two_partners["b"].traffic_source_id
    assert Lead.objects.get(pk=first.json()["lead"]["id"]).tokens == {"first_name": "Ann"}


@pytest.mark.django_db
def test_a_repeat_from_the_same_partner_still_follows_the_policy(client, two_partners):
    offer = two_partners["offer"]
    offer.duplicate_policy = DuplicatePolicy.REJECT
    offer.save()
    post_json(client, _pixel(two_partners, two_partners["a"]))
    assert post_json(client, _pixel(two_partners, two_partners["a"])).status_code == 409


@pytest.mark.django_db
def test_another_partners_ringba_call_id_reveals_nothing_of_the_first(client, two_partners):
    first = post_json(client, _pixel(two_partners, two_partners["a"], ringba_call_uuid="RGB-A"))

    second = post_json(client, _pixel(two_partners, two_partners["b"], ringba_call_uuid="RGB-A"))

    assert second.status_code == 409, second.content
    text = second.content.decode()
    assert str(first.json()["lead"]["id"]) not in text
    assert first.json()["lead"]["uuid"] not in text
    assert str(two_partners["a"].traffic_source_id) not in text
    assert Lead.objects.get().traffic_source_id == two_partners["a"].pk


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_policy_path_and_a_call_for_the_same_caller_never_deadlock(postgres_only, two_partners):
    offer = two_partners["offer"]
    offer.duplicate_policy = DuplicatePolicy.UPDATE
    offer.save()
    rounds = 30

    def pixel(round_number):
        body = _pixel(two_partners, two_partners["a"])
        body["caller_id"] = f"+1312556{round_number:04d}"
        return post_json(Client(), body).status_code

    def call(round_number):
        record_call(number=two_partners["number"].number, caller_id=f"+1312556{round_number:04d}")
        return "call"

    results = run_rounds(rounds, [pixel, call, pixel])

    errors = [r for round_ in results for r in round_ if isinstance(r, Exception)]
    assert errors == []
    assert all(result[0] in (200, 201) and result[2] in (200, 201) for result in results), results

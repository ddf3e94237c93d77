"""Account managers find a caller however they type the number (issue 14)."""

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

TYPED = ["(312) 555-0100", "312-555-0100", "3125550100", "1 312 555 0100", "+13125550100"]


@pytest.fixture
def manager_client(client):
    client.force_login(factories.account_manager())
    return client


def _found(client, model: str, term: str) -> list:
    response = client.get(reverse(f"admin:integrations_{model}_changelist"), {"q": term})
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize("typed", TYPED)
def test_calls_and_leads_are_found_by_caller_in_any_format(manager_client, typed):
    wanted = factories.CallFactory(caller_id="+13125550100")
    factories.CallFactory(caller_id="+13125550199")
    lead = factories.LeadFactory(caller_id="+13125550100")
    factories.LeadFactory(caller_id="+13125550199")
    assert _found(manager_client, "call", typed) == [wanted]
    assert _found(manager_client, "lead", typed) == [lead]


def test_a_tracking_number_is_found_in_any_format(manager_client):
    call = factories.CallFactory(number=factories.NumberFactory(number="+18005550123"))
    factories.CallFactory()
    assert _found(manager_client, "call", "(800) 555-0123") == [call]


def test_a_term_that_is_not_a_phone_number_searches_as_before(manager_client):
    call = factories.CallFactory()
    factories.CallFactory()
    assert _found(manager_client, "call", call.call_uuid) == [call]
    assert _found(manager_client, "call", "no such thing") == []

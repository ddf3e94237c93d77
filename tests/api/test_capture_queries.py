"""The capture hot path stays within its query budget (SPEC §11: ≤ 3 per accepted pixel)."""

import pytest

from tests import factories

from .pixels import post_json

# transaction=True: no wrapping test transaction, so no savepoints inflate the count —
# the same statements production runs in autocommit mode.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def warm_pixel(base_pixel, client, ringba_setup):
    body = {
        **base_pixel,
        "caller_id": "+13125550101",
        "ringba_call_uuid": "RGB-WARM",
    }
    assert post_json(client, body).status_code == 201  # warms the offer cache
    return body


def test_new_pixel_costs_one_statement_on_postgresql(client, warm_pixel, django_assert_num_queries):
    from django.db import connection

    # PostgreSQL: one statement inserts, locks and matches. SQLite: BEGIN IMMEDIATE,
    # INSERT, the match SELECT, COMMIT (the write lock is what serialises matching).
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 4):
        response = post_json(client, {**warm_pixel, "ringba_call_uuid": "RGB-NEW"})
    assert response.status_code == 201


def test_new_pixel_that_attaches_to_a_call_costs_three(
    client, warm_pixel, ringba_setup, django_assert_max_num_queries
):
    from django.db import connection

    factories.CallFactory(number=ringba_setup["number"], caller_id="+13125550199")
    # SQLite adds BEGIN/COMMIT and a savepoint around the attaching UPDATE.
    with django_assert_max_num_queries(3 if connection.vendor == "postgresql" else 7):
        response = post_json(
            client, {**warm_pixel, "caller_id": "+13125550199", "ringba_call_uuid": "RGB-MATCH"}
        )
    assert response.status_code == 201
    assert response.json()["lead"]["call_uuid"] is not None


def test_cold_cache_adds_only_the_offer_lookup(
    base_pixel, client, ringba_setup, django_assert_max_num_queries
):
    body = {
        **base_pixel,
        "caller_id": "+13125550101",
    }
    from django.db import connection

    # offer + sources + contact fields + trigger events, then the new pixel's own cost
    with django_assert_max_num_queries(6 if connection.vendor == "postgresql" else 9):
        assert post_json(client, body).status_code == 201


def test_the_offer_configuration_is_read_once_per_pixel(client, warm_pixel, monkeypatch):
    from integrations.api import pixel_intake
    from integrations.services import capture, offer_cache

    reads = []

    def counting(token):
        reads.append(token)
        return offer_cache.get_offer_config(token)

    monkeypatch.setattr(pixel_intake, "get_offer_config", counting)
    assert not hasattr(capture, "get_offer_config")  # the service is handed the clean pixel
    response = post_json(client, {**warm_pixel, "ringba_call_uuid": "RGB-ONCE"})
    assert response.status_code == 201
    assert len(reads) == 1  # the throttle and the cleaning share the view's read


def _prepared_capture_statements() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%integrations_match_new_lead%"],
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize("prepared", [True, False])
def test_the_capture_statement_is_prepared_once_per_connection(
    postgres_only, client, warm_pixel, settings, prepared
):
    from django.db import connection

    settings.DATABASE_PREPARED_STATEMENTS = prepared
    connection.close()  # a fresh connection: nothing prepared on it yet
    for number in range(3):
        response = post_json(client, {**warm_pixel, "ringba_call_uuid": f"RGB-PREP-{number}"})
        assert response.status_code == 201
    # On: parsed and planned once, then executed by name. Off (PgBouncer in transaction
    # mode): nothing left prepared on the connection.
    assert _prepared_capture_statements() == (1 if prepared else 0)

import pytest

from integrations.rules import conditions


@pytest.mark.parametrize(
    "rule, tokens, holds",
    [
        ({"token": "a", "operator": "is populated"}, {"a": "x"}, True),
        ({"token": "a", "operator": "is populated"}, {"a": "  "}, False),
        ({"token": "a", "operator": "is populated"}, {}, False),
        ({"token": "a", "operator": "is empty"}, {}, True),
        ({"token": "a", "operator": "is empty"}, {"a": "x"}, False),
        ({"token": "a", "operator": "=", "value": "IL"}, {"a": "IL"}, True),
        ({"token": "a", "operator": "=", "value": "IL"}, {"a": "il"}, False),
        ({"token": "a", "operator": "!=", "value": "IL"}, {"a": "IN"}, True),
        ({"token": "a", "operator": "!=", "value": "IL"}, {"a": "IL"}, False),
        ({"token": "a", "operator": ">=", "value": 90}, {"a": "90"}, True),
        ({"token": "a", "operator": ">=", "value": 90}, {"a": "89.99"}, False),
        ({"token": "a", "operator": ">=", "value": 90}, {"a": "n/a"}, False),
        ({"token": "a", "operator": "<=", "value": "10.5"}, {"a": "10.50"}, True),
        ({"token": "a", "operator": "<=", "value": "10.5"}, {"a": "11"}, False),
        ({"token": "a", "operator": "contains", "value": "final"}, {"a": "final expense"}, True),
        ({"token": "a", "operator": "contains", "value": "final"}, {"a": "medicare"}, False),
    ],
)
def test_each_operator(rule, tokens, holds):
    conditions.validate([rule])
    reason = conditions.evaluate([rule], tokens)
    assert (reason is None) is holds
    if not holds:
        assert reason.startswith(f"condition not met: a {rule['operator']}")


def test_all_rules_must_hold():
    rules = [
        {"token": "a", "operator": "is populated"},
        {"token": "b", "operator": "=", "value": "1"},
    ]
    assert conditions.evaluate(rules, {"a": "x", "b": "1"}) is None
    assert conditions.evaluate(rules, {"a": "x", "b": "2"}) == (
        "condition not met: b = 1 (value: '2')"
    )


def test_no_conditions_always_hold():
    assert conditions.evaluate([], {}) is None
    assert conditions.describe([]) == "always"


def test_describe_reads_like_the_admin_shows_it():
    assert conditions.describe(
        [
            {"token": "ringba_call_uuid", "operator": "is populated"},
            {"token": "duration", "operator": ">=", "value": 90},
        ]
    ) == ("ringba_call_uuid is populated AND duration >= 90")


# The admin form: conditions edited as rows, stored as the same JSON list.


@pytest.fixture
def trigger_page(admin_client, ringba_trigger):
    from django.urls import reverse

    from tests.admin.forms import change_form_data

    url = reverse("admin:integrations_eventtrigger_change", args=[ringba_trigger.pk])
    return admin_client, url, change_form_data(admin_client.get(url))


def _rows(data: dict, rows: list[tuple[str, str, str]]) -> dict:
    data = {key: value for key, value in data.items() if not key.startswith("conditions")}
    data["conditions-token"] = [row[0] for row in rows]
    data["conditions-operator"] = [row[1] for row in rows]
    data["conditions-value"] = [row[2] for row in rows]
    return data


def test_condition_rows_are_saved_as_the_json_list(trigger_page, ringba_trigger):
    client, url, data = trigger_page
    rows = [("ringba_call_uuid", "is populated", "ignored"), ("payout", ">=", "5"), ("", "", "")]
    response = client.post(url, _rows(data, rows))
    assert response.status_code == 302
    ringba_trigger.refresh_from_db()
    assert ringba_trigger.conditions == [
        {"token": "ringba_call_uuid", "operator": "is populated"},
        {"token": "payout", "operator": ">=", "value": "5"},
    ]


def test_a_broken_row_is_refused_with_its_position(trigger_page, ringba_trigger):
    client, url, data = trigger_page
    response = client.post(url, _rows(data, [("payout", ">=", "lots")]))
    assert response.status_code == 200
    assert "Condition 1" in response.text and "compares numbers" in response.text


def test_the_form_shows_each_rule_as_a_row_and_lists_the_tokens(trigger_page):
    client, url, _ = trigger_page
    page = client.get(url).text
    assert 'name="conditions-token" value="ringba_call_uuid"' in page
    assert "<code>[call_uuid]</code>" in page and "<code>[ringba_webhook_token]</code>" in page

import pytest

from integrations import conditions


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

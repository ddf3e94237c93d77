"""[token]{default} rendering, percent-encoding by position, and token precedence."""

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.outbound.tokens import call_context, format_money, render_url
from integrations.services.firing import mapping_tokens, triggers_for
from tests import factories

TEMPLATE = "https://webhook.ringba.com/hook/[token]?call_id=[id]&call_revenue=[amount]&x=1"


def test_tokens_and_defaults_render():
    rendered = render_url(
        "https://h/[a]/[b]{fallback}?c=[c]{7}&d=[d]", {"a": "one", "c": "", "d": "four"}
    )
    assert rendered.url == "https://h/one/fallback?c=7&d=four"
    assert rendered.missing == ()


def test_unknown_tokens_render_empty_and_are_reported_missing():
    rendered = render_url("https://h/[nope]?a=[also_nope]&b=[has]{}", {})
    assert rendered.url == "https://h/?a=&b="
    assert rendered.missing == ("nope", "also_nope")


@pytest.mark.parametrize(
    "value",
    [
        "abc&call_revenue=999",
        "a=b",
        "a/b/../c",
        "frag#ment",
        "with space",
        "ünïcødé ☎",
        "%41",
        "?x=1",
        "+1",
    ],
)
def test_values_cannot_add_or_change_parameters_in_the_query(value):
    url = render_url(TEMPLATE, {"token": "t", "id": value, "amount": "12.50"}).url
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert query == {"call_id": [value], "call_revenue": ["12.50"], "x": ["1"]}


@pytest.mark.parametrize("value", ["a/b", "../admin", "x?y=1", "frag#ment", "spa ce", "ü"])
def test_values_stay_one_path_segment(value):
    url = render_url(TEMPLATE, {"token": value, "id": "1", "amount": "1"}).url
    parts = urlsplit(url)
    assert parts.path.count("/") == 2 and parts.fragment == ""
    from urllib.parse import unquote

    assert unquote(parts.path.split("/")[-1]) == value
    assert parse_qs(parts.query)["call_id"] == ["1"]


@pytest.mark.parametrize(
    "amount, text",
    [
        (Decimal("12.5"), "12.50"),
        (Decimal("0"), "0.00"),
        (Decimal("1234.567"), "1234.57"),
        (None, ""),
    ],
)
def test_money_renders_with_two_decimals(amount, text):
    assert format_money(amount) == text


@pytest.mark.django_db
def test_precedence_system_over_number_over_mapping_over_post_call_over_lead(ringba_setup):
    number = ringba_setup["number"]
    source = ringba_setup["source"]
    lead = factories.LeadFactory(
        offer=ringba_setup["offer"],
        traffic_source=source,
        tokens={"ringba_call_uuid": "RGB1", "layer": "lead", "only_lead": "L", "payout": "999"},
    )
    call = factories.CallFactory(
        number=number,
        lead=lead,
        payout=Decimal("12.5"),
        post_call_tokens={"layer": "post_call", "only_post": "P"},
    )
    factories.NumberTokenFactory(number=number, key="ringba_webhook_token", value="from-number")
    factories.NumberTokenFactory(number=number, key="layer", value="number")
    trigger = factories.TriggerFactory()
    factories.MappingFactory(trigger=trigger, traffic_source=source, value="from-mapping")
    factories.MappingFactory(
        trigger=trigger, traffic_source=source, token_name="layer", value="mapping"
    )
    factories.MappingFactory(
        trigger=trigger, traffic_source=source, token_name="only_map", value="M"
    )

    [loaded] = triggers_for(
        event=trigger.event, offer_id=call.offer_id, traffic_source_id=source.pk
    )
    context = call_context(call, mapping_tokens=mapping_tokens(loaded))

    assert context["payout"] == "12.50"  # system beats a lead token of the same name
    assert context["ringba_webhook_token"] == "from-number"  # number override beats mapping
    assert context["layer"] == "number"
    assert (context["only_map"], context["only_post"], context["only_lead"]) == ("M", "P", "L")
    assert context["ringba_call_uuid"] == "RGB1"
    assert context["caller_id_short"] == "3125550000"


@pytest.mark.django_db
def test_mapping_for_another_traffic_source_does_not_apply(ringba_setup):
    call = factories.CallFactory(number=ringba_setup["number"])
    trigger = factories.TriggerFactory()
    factories.MappingFactory(trigger=trigger, value="someone-elses")
    [loaded] = triggers_for(
        event=trigger.event, offer_id=call.offer_id, traffic_source_id=call.traffic_source_id
    )
    assert "ringba_webhook_token" not in call_context(call, mapping_tokens=mapping_tokens(loaded))

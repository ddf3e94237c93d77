"""The pixel rules are pure: no database (pytest-django refuses any query here)."""

from dataclasses import replace

import pytest

from integrations.pixel.parser import clean_pixel, require_lead_token
from integrations.rules.errors import Rejected, RejectionKind
from integrations.services.offer_cache import ContactFieldRule, OfferConfig

CONFIG = OfferConfig(
    offer_id=1,
    name="Offer",
    active=True,
    enforce_validations=True,
    duplicate_policy="allow",
    match_window_seconds=86400,
    contact_fields=(
        ContactFieldRule(
            name="zip", field_type="string", required=True, pattern=r"\d{5}", acceptable_values=()
        ),
    ),
    sources={4321: (7, True)},
)


def test_a_good_pixel_becomes_a_clean_pixel():
    pixel = clean_pixel(
        {
            "Lead_Token": "t",
            "traffic_source_id": "4321",
            "caller_id": "(312) 555-0101",
            "RINGBA_CALL_UUID": "RGB1",
            "zip": "60601",
            "first_name": "[tag:User:first_name]",
        },
        CONFIG,
    )
    assert (pixel.traffic_source_pk, pixel.caller_id, pixel.ringba_call_uuid) == (
        7,
        "+13125550101",
        "RGB1",
    )
    assert pixel.tokens == {"zip": "60601", "ringba_call_uuid": "RGB1"}
    assert pixel.warnings == [
        "first_name: Ringba sent the unreplaced tag [tag:User:first_name]; dropped"
    ]


def test_every_broken_field_is_named_at_once():
    with pytest.raises(Rejected) as refused:
        clean_pixel({"traffic_source_id": "9", "caller_id": "12", "zip": "abc"}, CONFIG)
    assert refused.value.kind is RejectionKind.INVALID
    assert [error.split(":")[0] for error in refused.value.errors] == [
        "traffic_source_id",
        "caller_id",
        "zip",
    ]


@pytest.mark.parametrize("params", [{}, {"lead_token": "  "}, {"lead_token": "x" * 65}])
def test_a_missing_or_impossible_lead_token_is_unauthorized(params):
    with pytest.raises(Rejected) as refused:
        require_lead_token(params)
    assert refused.value.kind is RejectionKind.UNAUTHORIZED


def test_the_clean_pixel_carries_its_lead_token_as_sent_under_any_name():
    pixel = clean_pixel(
        {"OFFER_LEAD_TOKEN": "  t  ", "traffic_source_id": "4321", "caller_id": "3125550101"},
        replace(CONFIG, contact_fields=()),
    )
    assert pixel.lead_token == "t"


def test_a_repeats_warnings_join_the_kept_ones_once_each_newest_fifty():
    pixel = clean_pixel(
        {
            "lead_token": "t",
            "traffic_source_id": "4321",
            "caller_id": "3125550101",
            "zip": "60601",
            "city": "[tag:Geo:city]",
        },
        CONFIG,
    )
    [dropped] = pixel.warnings
    kept = [f"old {number}" for number in range(60)] + [dropped]
    merged = pixel.warnings_after(kept)
    assert len(merged) == 50
    assert merged[-1] == dropped and merged.count(dropped) == 1
    assert merged[0] == "old 11"


def test_names_are_folded_once_and_read_alike_after():
    from integrations.pixel.parser import fold_consumed_names, lead_token_of

    folded = fold_consumed_names({"LEAD_TOKEN": "t", "Lead_Token": "u", "lead_token": "v"})
    assert fold_consumed_names(folded) is folded  # the API folds; readers after it do not
    assert lead_token_of(folded) == "v"  # the exact lower-case spelling wins


def test_a_clean_pixels_repr_never_shows_its_lead_token():
    pixel = clean_pixel(
        {"lead_token": "secret-token-1234", "traffic_source_id": "4321", "caller_id": "3125550101"},
        replace(CONFIG, contact_fields=()),
    )
    assert pixel.lead_token == "secret-token-1234"
    assert "secret-token" not in repr(pixel)

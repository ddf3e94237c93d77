"""Schedule time zones: regional names only, the account's country first (issue 26)."""

import re

import pytest
from django.core.exceptions import ValidationError

from integrations.time_zones import time_zone_choices, validate_time_zone


@pytest.mark.parametrize(
    ("name", "instead"),
    [
        ("EST", "America/New_York"),
        ("HST", "Pacific/Honolulu"),
        ("Etc/GMT+5", "a regional name such as America/New_York"),
    ],
)
def test_fixed_offsets_are_refused_with_the_zone_to_use(name, instead):
    with pytest.raises(ValidationError) as caught:
        validate_time_zone(name)
    assert caught.value.messages == [
        f"{name!r} is a fixed offset without daylight saving; use {instead} (its clocks "
        "change when the callers' do)."
    ]


@pytest.mark.parametrize("name", ["America/New_York", "Europe/London", "UTC"])
def test_regional_zones_and_utc_are_accepted(name):
    validate_time_zone(name)


def test_the_picker_lists_the_accounts_country_first_and_no_fixed_offsets():
    (own_title, own), (all_title, every) = time_zone_choices()
    assert all_title == "All time zones"
    assert own_title.startswith("US") and own[0][0] == "America/New_York"
    assert re.fullmatch(r"Eastern \(New York\) — \d\d:\d\d now", own[0][1])  # issue 34, 11
    names = {name for name, _ in every}
    assert "America/New_York" in names and "EST" not in names and "Etc/GMT+5" not in names
    # Backward-compatible aliases only point at another zone: not offered.
    assert not names & {"US/Eastern", "Asia/Calcutta", "America/Indianapolis"}
    assert "UTC" in names


@pytest.mark.django_db
def test_a_calling_window_is_two_times_of_day_without_a_now_shortcut(admin_client):
    from django.urls import reverse

    page = admin_client.get(reverse("admin:integrations_schedule_add")).content.decode()
    for name in ("contact_start", "contact_end"):
        field = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)[0]
        assert 'type="time"' in field and "vTimeField" not in field

"""Schedule time zones: regional names only, the account's country first (issue 26)."""

import re

import pytest
from django.core.exceptions import ValidationError

from integrations.hours.time_zones import time_zone_choices, validate_time_zone


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


# --- hours per weekday (issue 34, item 11) ---------------------------------------------


def test_a_weekday_with_hours_of_its_own_opens_and_closes_on_them():
    from datetime import UTC, datetime, time

    from integrations.hours.windows import ContactWindow

    window = ContactWindow(
        days=frozenset(range(1, 8)),
        start=time(9),
        end=time(20),
        time_zone="UTC",
        day_hours={6: (time(10), time(14))},
    )
    friday, saturday = datetime(2026, 12, 4, 9, 30, tzinfo=UTC), datetime(2026, 12, 5, 9, 30)
    saturday = saturday.replace(tzinfo=UTC)
    assert window.is_open(friday) and not window.is_open(saturday)
    assert window.next_opening(saturday) == datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    assert not window.is_open(saturday.replace(hour=15))  # Saturday closes at 14:00
    assert window.next_opening(saturday.replace(hour=15)) == datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text, error",
    [
        ("Saturday 10-14", "write a day and its hours"),
        ("Fri 25:00-26:00", "hours are HH:MM"),
        ("Sun 14:00-10:00", "must start before they end"),
        ("Xyz 10:00-11:00", "write a day and its hours"),
    ],
)
def test_hours_that_cannot_be_read_are_named(text, error):
    from integrations.hours.windows import parse_day_hours

    with pytest.raises(ValueError, match=error):
        parse_day_hours(text)


@pytest.mark.django_db
def test_the_schedule_form_keeps_hours_per_weekday(admin_client, ringba_setup):
    from django.urls import reverse

    from integrations.models import Schedule
    from tests import factories

    schedule = factories.ScheduleFactory(offer=ringba_setup["offer"])
    url = reverse("admin:integrations_schedule_change", args=[schedule.pk])
    from tests.admin.forms import change_form_data

    form = change_form_data(
        admin_client.get(url), hours_by_day="sat 10:00-14:00; Sunday 12:00-16:00"
    )
    answer = admin_client.post(url, form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    schedule = Schedule.objects.get(pk=schedule.pk)
    assert schedule.day_hours == {"6": ["10:00", "14:00"], "7": ["12:00", "16:00"]}
    page = admin_client.get(url).content.decode()
    assert 'value="Sat 10:00-14:00; Sun 12:00-16:00"' in page
    refused = admin_client.post(url, {**form, "hours_by_day": "Sun 16:00-12:00"})
    assert "must start before they end" in refused.content.decode()

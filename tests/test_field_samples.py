"""Sample values for the partner's test curl pass the rules they were made for."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.partner_page.field_samples import TYPICAL, sample_matching, sample_value
from integrations.pixel.field_rules import check_contact_fields
from integrations.services.offer_cache import ContactFieldRule

REALISTIC = [
    r"^\d{5}$",
    r"\d{5}(-\d{4})?",
    r"[A-Z]{2}",
    r"^(yes|no)$",
    r"[A-Za-z ]+",
    r"\w{3,8}",
    r"[0-9]{3}-[0-9]{3}-[0-9]{4}",
    r"(?i)abc",
    r"(?:MB|MX)-[0-9A-F]{6}",
    r"\S+@\S+\.\w+",
    r"x*y?z+",
]


@pytest.mark.parametrize("pattern", REALISTIC)
def test_a_sample_fully_matches_its_pattern(pattern):
    sample = sample_matching(pattern)
    assert sample and re.fullmatch(pattern, sample)


@pytest.mark.parametrize("pattern", [r"[^a-z]{3}", r"(a)\1", r"(?=x)x", r"a(?!b)"])
def test_patterns_the_walk_cannot_satisfy_give_none_not_a_wrong_value(pattern):
    sample = sample_matching(pattern)
    assert sample is None or re.fullmatch(pattern, sample)


@pytest.mark.parametrize("field_type", sorted(TYPICAL))
def test_each_type_has_a_typical_value_the_capture_check_accepts(field_type):
    rule = ContactFieldRule("f", field_type, True, "", ())
    assert check_contact_fields([rule], {"f": sample_value(field_type, "", ())}) == []


def test_acceptable_values_win_over_pattern_and_type():
    assert sample_value("integer", r"\d+", ("7", "8")) == "7"


# Random patterns include "[[", which Python's re warns may change meaning one day.
@pytest.mark.filterwarnings("ignore::FutureWarning")
@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[a-z0-9\[\]\-\\{},?+*|()^$.]{1,12}", fullmatch=True))
def test_any_pattern_gives_a_match_or_none_never_an_error(pattern):
    try:
        re.compile(pattern)
    except re.error:
        assert sample_matching(pattern) is None
        return
    sample = sample_matching(pattern)
    assert sample is None or re.fullmatch(pattern, sample)

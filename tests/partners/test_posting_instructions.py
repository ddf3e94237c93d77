"""The posting-instructions page (staff) and the partner share link (SPEC §8)."""

import json
import re

import pytest
from django.core import signing
from django.urls import reverse

from integrations.models import ContactField
from integrations.partner_page.links import SALT, make_link_token, partner_url
from integrations.services.offers import rotate_lead_token
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def offer_setup(ringba_setup):
    offer = ringba_setup["offer"]
    for position, (name, shown) in enumerate(
        [("first_name", True), ("jornaya_leadid", True), ("internal_score", False)]
    ):
        ContactField.objects.create(
            offer=offer,
            name=name,
            position=position,
            show_in_instructions=shown,
            required=name == "first_name",
            description=f"About {name}",
        )
    return ringba_setup


def _staff_page(client, offer, source=None):
    url = reverse("admin:integrations_offer_posting_instructions", args=[offer.pk])
    return client.get(url, {"traffic_source": source.pk} if source else {})


def _pixel_body(html: str) -> dict:
    match = re.search(r'<pre id="setting-7">(.*?)</pre>', html, re.S)
    import html as html_lib

    return json.loads(html_lib.unescape(match.group(1)))


def test_staff_page_shows_every_value_a_partner_needs(admin_client, offer_setup, settings):
    offer, source = offer_setup["offer"], offer_setup["source"]
    response = _staff_page(admin_client, offer, source)
    assert response.status_code == 200
    html = response.content.decode()
    capture = f"{settings.PUBLIC_BASE_URL}/api/v1/leads/capture"
    assert capture in html and offer.lead_token in html
    assert str(source.traffic_source_id) in html
    assert _pixel_body(html) == {
        "lead_token": offer.lead_token,
        "traffic_source_id": str(source.traffic_source_id),
        "caller_id": "[tag:InboundNumber:Number]",
        "ringba_call_uuid": "[Call:InboundCallId]",
        "first_name": "[tag:User:first_name]",
        "jornaya_leadid": "[tag:User:jornaya_leadid]",
    }
    for text in [
        "Connected (Answered)",
        "Finalized",
        "Advanced Instructions",
        "application/json",
        "Connection - Target - Id",
        "Global Buyer Revenue Postback",
        "sale_successful=true",
        "cannot be changed",
        "curl -X POST",
    ]:
        assert text in html, text
    assert "internal_score" not in html  # not shown in instructions
    assert "/partners/instructions/" in html  # the share link


def test_ringba_form_order_is_kept(admin_client, offer_setup):
    html = _staff_page(admin_client, offer_setup["offer"], offer_setup["source"]).content.decode()
    labels = re.findall(r'<th scope="row">([^<]+)</th>', html)
    assert labels[:10] == [
        "Name",
        "Fire Pixel On",
        "URL",
        "Advanced Instructions",
        "HTTP Method",
        "Content Type",
        "Body",
        "Headers",
        "Authentication",
        "Tag Filters",
    ]


def test_get_variant_carries_the_same_fields_in_the_query(admin_client, offer_setup):
    html = _staff_page(admin_client, offer_setup["offer"], offer_setup["source"]).content.decode()
    url = re.search(r'<pre id="value-get-url">(.*?)</pre>', html).group(1).replace("&amp;", "&")
    assert url.endswith(
        "&caller_id=[tag:InboundNumber:Number]&ringba_call_uuid="
        "[Call:InboundCallId]&first_name=[tag:User:first_name]"
        "&jornaya_leadid=[tag:User:jornaya_leadid]"
    )


def _post_the_curl_example(admin_client, client, offer, source):
    html = _staff_page(admin_client, offer, source).content.decode()
    import html as html_lib

    curl = html_lib.unescape(re.search(r'<pre id="value-curl">(.*?)</pre>', html, re.S).group(1))
    body = re.search(r"-d '(.*)'", curl).group(1)
    return client.generic(
        "POST", "/api/v1/leads/capture", body.encode(), content_type="application/json"
    )


def test_the_curl_example_works_against_this_server(admin_client, client, offer_setup):
    response = _post_the_curl_example(
        admin_client, client, offer_setup["offer"], offer_setup["source"]
    )
    assert response.status_code == 201, response.content


STRICT_FIELDS = [
    # name, type, pattern, acceptable values
    ("first_name", "string", "", ""),
    ("zip_code", "string", r"^\d{5}(-\d{4})?$", ""),
    ("state", "string", r"[A-Z]{2}", ""),
    ("plan", "string", "", "gold\nsilver"),
    ("age", "integer", r"[1-9][0-9]", ""),
    ("income", "decimal", "", ""),
    ("email", "email", "", ""),
    ("callback", "phone", "", ""),
    ("site", "url", "", ""),
    ("opt_in", "boolean", "", ""),
    ("born", "datetime", "", ""),
    ("member_id", "string", r"(?:MB|MX)-[0-9A-F]{6}", ""),
]


def test_the_curl_example_passes_every_rule_of_a_strict_offer(admin_client, client, ringba_setup):
    """Every field required, typed, patterned or listed, and validations enforced (SPEC §8)."""
    offer, source = ringba_setup["offer"], ringba_setup["source"]
    offer.enforce_contact_field_validations = True
    offer.save()
    for position, (name, field_type, pattern, values) in enumerate(STRICT_FIELDS):
        ContactField.objects.create(
            offer=offer,
            name=name,
            field_type=field_type,
            pattern=pattern,
            acceptable_values=values,
            required=True,
            position=position,
        )
    response = _post_the_curl_example(admin_client, client, offer, source)
    assert response.status_code == 201, response.content
    page = _staff_page(admin_client, offer, source).content.decode()
    assert "replace the placeholder values" not in page
    assert "e.g. <code>11111</code>" in page  # the zip code's example, in the format column
    assert "one of <code>gold</code>, <code>silver</code>" in page


def test_a_pattern_no_sample_satisfies_is_named_for_the_partner(admin_client, ringba_setup):
    offer, source = ringba_setup["offer"], ringba_setup["source"]
    offer.enforce_contact_field_validations = True
    offer.save()
    ContactField.objects.create(offer=offer, name="code", pattern=r"[^a-z]{3}", required=True)
    page = _staff_page(admin_client, offer, source).content.decode()
    assert "replace the placeholder values" in page
    assert "&lt;code&gt;" in page  # the placeholder in the curl body


def test_fields_sent_as_user_tags_say_how_to_make_the_tag_exist(admin_client, offer_setup):
    page = _staff_page(admin_client, offer_setup["offer"], offer_setup["source"]).text
    assert "Reporting Menu Name" in page and "URL parameter" in page


def test_staff_page_asks_for_a_source_when_several_are_enabled(admin_client, offer_setup):
    offer_setup["offer"].traffic_sources.add(factories.TrafficSourceFactory())
    response = _staff_page(admin_client, offer_setup["offer"])
    assert b"Select the Ringba traffic source" in response.content
    assert offer_setup["offer"].lead_token.encode() not in response.content


def test_staff_page_needs_a_login(client, offer_setup):
    response = _staff_page(client, offer_setup["offer"], offer_setup["source"])
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_offer_change_page_has_the_posting_instructions_button(admin_client, offer_setup):
    offer = offer_setup["offer"]
    response = admin_client.get(reverse("admin:integrations_offer_change", args=[offer.pk]))
    assert (
        reverse("admin:integrations_offer_posting_instructions", args=[offer.pk]).encode()
        in response.content
    )


def _partner_path(offer, source):
    return reverse("partner-instructions", args=[make_link_token(offer, source)])


def test_partner_link_opens_the_same_values_without_login(client, offer_setup):
    offer, source = offer_setup["offer"], offer_setup["source"]
    response = client.get(_partner_path(offer, source))
    assert response.status_code == 200
    html = response.content.decode()
    assert offer.lead_token in html and str(source.traffic_source_id) in html
    assert _pixel_body(html)["first_name"] == "[tag:User:first_name]"
    assert response["X-Robots-Tag"] == "noindex, nofollow, noarchive"
    assert '<meta name="robots" content="noindex' in html
    assert response["Referrer-Policy"] == "no-referrer"


def test_partner_page_exposes_nothing_else(client, offer_setup):
    offer, source = offer_setup["offer"], offer_setup["source"]
    other_source = factories.TrafficSourceFactory(name="Secret Rival Partner")
    offer.traffic_sources.add(other_source)
    factories.OfferFactory(name="Secret Other Offer", traffic_sources=[source])
    factories.NumberTokenFactory(number=offer_setup["number"], value="SECRET-WEBHOOK-TOKEN")
    html = client.get(_partner_path(offer, source)).content.decode()
    for secret in [
        "Secret Rival Partner",
        str(other_source.traffic_source_id),
        "Secret Other Offer",
        "SECRET-WEBHOOK-TOKEN",
        "/admin/",
        "Share with partner",
    ]:
        assert secret not in html, secret


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: "x" + token,
        lambda token: "not-a-token",
    ],
)
def test_tampered_links_answer_a_plain_404(client, offer_setup, tamper):
    token = make_link_token(offer_setup["offer"], offer_setup["source"])
    response = client.get(reverse("partner-instructions", args=[tamper(token)]))
    assert response.status_code == 404
    assert b"This link is not valid" in response.content
    assert offer_setup["offer"].lead_token.encode() not in response.content


def test_a_link_cannot_be_widened_to_another_source(client, offer_setup):
    offer = offer_setup["offer"]
    other = factories.TrafficSourceFactory()
    offer.traffic_sources.add(other)
    payload = signing.loads(make_link_token(offer, offer_setup["source"]), salt=SALT)
    forged = signing.dumps({**payload, "s": other.pk}, salt="guessed-salt", compress=True)
    assert client.get(reverse("partner-instructions", args=[forged])).status_code == 404


def test_rotating_the_lead_token_kills_shared_links(client, offer_setup):
    path = _partner_path(offer_setup["offer"], offer_setup["source"])
    rotate_lead_token(offer_setup["offer"])
    assert client.get(path).status_code == 404


def test_disabling_the_source_on_the_offer_kills_shared_links(client, offer_setup):
    path = _partner_path(offer_setup["offer"], offer_setup["source"])
    offer_setup["offer"].traffic_sources.remove(offer_setup["source"])
    assert client.get(path).status_code == 404


def test_expired_links_answer_404(client, offer_setup, settings):
    path = _partner_path(offer_setup["offer"], offer_setup["source"])
    settings.PARTNER_LINK_MAX_AGE_DAYS = -1
    assert client.get(path).status_code == 404


def test_share_link_is_absolute_from_public_base_url(offer_setup, settings):
    settings.PUBLIC_BASE_URL = "https://calls.example.com"
    assert partner_url(offer_setup["offer"], offer_setup["source"]).startswith(
        "https://calls.example.com/partners/instructions/"
    )


def test_html_looking_values_are_shown_escaped(client, offer_setup):
    offer = offer_setup["offer"]
    offer.name = "<script>alert(1)</script>"
    offer.save()
    ContactField.objects.create(offer=offer, name="evil", description="<img src=x onerror=1>")
    html = client.get(_partner_path(offer, offer_setup["source"])).content.decode()
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_section_3_says_when_the_webhook_token_is_on_file(
    admin_client, offer_setup, ringba_trigger
):
    """Issue 34, item 12: a partner whose token we hold is not asked to send it again."""
    offer, source = offer_setup["offer"], offer_setup["source"]
    page = _staff_page(admin_client, offer, source).content.decode()
    assert 'id="webhook-on-file"' not in page and "Send that whole URL" in page
    factories.MappingFactory(trigger=ringba_trigger, traffic_source=source, value="tok-abcd1234")
    page = _staff_page(admin_client, offer, source).content.decode()
    assert 'id="webhook-on-file"' in page and "<code>1234</code>" in page
    assert "tok-abcd1234" not in page  # only its last four characters
    assert "Send that whole URL" not in page


def test_every_contact_field_name_and_tag_has_a_copy_button(admin_client, offer_setup):
    page = _staff_page(admin_client, offer_setup["offer"], offer_setup["source"])
    html = page.content.decode()
    for index, name in enumerate(["first_name", "jornaya_leadid"], start=1):
        assert f'<code id="field-tag-{index}">[tag:User:{name}]</code>' in html
        assert f'data-copy-target="field-tag-{index}"' in html
        assert f'data-copy-target="field-name-{index}"' in html

import json

import pytest
from django.core.management import call_command

from integrations.models import (
    CustomFieldMapping,
    EventTrigger,
    Number,
    NumberToken,
    Offer,
    TrafficSource,
)

pytestmark = pytest.mark.django_db


def _seed_json(capsys) -> dict:
    call_command("seed_demo", "--json")
    return json.loads(capsys.readouterr().out)


def _row_counts():
    return [
        model.objects.count()
        for model in (Offer, TrafficSource, Number, NumberToken, EventTrigger, CustomFieldMapping)
    ]


def test_seed_demo_prints_what_a_newcomer_needs(capsys):
    facts = _seed_json(capsys)
    offer = Offer.objects.get(pk=facts["offer_id"])
    assert facts["lead_token"] == offer.lead_token
    assert TrafficSource.objects.get(traffic_source_id=facts["traffic_source_id"])
    assert facts["numbers"] == ["+18005550100", "+18005550101"]
    assert EventTrigger.objects.get(pk=facts["trigger_id"]).template.slug == "ringba-webhook"
    assert facts["admin_username"] == "admin" and facts["admin_password"]
    assert facts["api_token"]
    assert [f.name for f in offer.contact_fields.all()] == [
        "first_name",
        "last_name",
        "jornaya_leadid",
        "trusted_form_cert_url",
    ]
    assert NumberToken.objects.get(number__number="+18005550100").key == "ringba_webhook_token"
    assert CustomFieldMapping.objects.filter(trigger_id=facts["trigger_id"]).count() == 1


def test_seed_demo_twice_changes_nothing(capsys):
    first = _seed_json(capsys)
    counts = _row_counts()
    second = _seed_json(capsys)
    # Share links carry their signing time; every other fact is identical.
    assert first.pop("posting_instructions_url") and second.pop("posting_instructions_url")
    assert second == first
    assert _row_counts() == counts


def test_the_printed_admin_password_logs_in(client, capsys):
    facts = _seed_json(capsys)
    assert client.login(username=facts["admin_username"], password=facts["admin_password"])


def test_the_reconciliation_showcase_shows_every_label_once(capsys, settings, tmp_path):
    from integrations.devtools.reconciliation_showcase import (
        SHOWCASE_PREFIX,
        expected_labels,
        period_of,
    )
    from integrations.models import Call, Difference

    settings.BASE_DIR = tmp_path
    call_command("seed_demo", "--json", "--reconciliation-showcase")
    facts = json.loads(capsys.readouterr().out)
    path = tmp_path / "var" / "demo-partner-b-ringba-calls.csv"
    assert facts["reconciliation_csv"] == str(path)
    calls = Call.objects.count()
    call_command("seed_demo", "--reconciliation-showcase")  # idempotent: the books once
    assert Call.objects.count() == calls
    capsys.readouterr()

    source = TrafficSource.objects.get(name="Demo Partner B (differences)")
    day = Call.objects.get(lead__ringba_call_uuid=f"{SHOWCASE_PREFIX}-A").started_at
    start, end = period_of(day)
    call_command(
        "reconcile_ringba",
        "--traffic-source",
        str(source.traffic_source_id),
        "--csv",
        str(path),
        "--from",
        start.isoformat(),
        "--to",
        end.isoformat(),
        "--json",
    )
    printed = json.loads(capsys.readouterr().out)
    labels = {row["ringba_call_id"]: row["label"] for row in printed["rows"]}
    assert labels == expected_labels(SHOWCASE_PREFIX)
    assert all(printed["counts"][label] >= 1 for label in Difference.values)

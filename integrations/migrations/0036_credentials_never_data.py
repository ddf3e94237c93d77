"""Scrub the credentials stored before they were refused as data (issue 32, item 1).

TrackDrive's PHP SDK appends ``?auth_token=<key>`` to every request; before this
release ``POST /api/v1/leads`` kept that key as a lead token, in the raw query, and
``post_call_tokens`` could hold one too. Every stored token under a credential's
name is removed and the kept request texts are redacted as new ones are. Rows are
read in batches and only the ones that name a credential are written.
"""

from django.db import migrations
from django.db.models import Q

from integrations.rules.credentials import CREDENTIAL_NAMES, is_credential_name, redact_text

BATCH = 500


def _mentions_a_credential(field: str) -> Q:
    # Token names are stored lower case, but raw text keeps the sender's spelling;
    # "token"/"key" catch every name on the list, its encodings included.
    return Q(**{f"{field}__icontains": "token"}) | Q(**{f"{field}__icontains": "key"})


def _scrub(model, *, token_fields=(), text_fields=()) -> None:
    candidates = Q()
    for field in token_fields:
        candidates |= Q(**{f"{field}__has_any_keys": sorted(CREDENTIAL_NAMES)})
    for field in text_fields:
        candidates |= _mentions_a_credential(field)
    rows = model.objects.filter(candidates).only("pk", *token_fields, *text_fields)
    for row in rows.iterator(chunk_size=BATCH):
        changed = []
        for field in token_fields:
            tokens = getattr(row, field) or {}
            kept = {key: value for key, value in tokens.items() if not is_credential_name(key)}
            if kept != tokens:
                setattr(row, field, kept)
                changed.append(field)
        for field in text_fields:
            text = getattr(row, field)
            redacted = redact_text(text)
            if redacted != text:
                setattr(row, field, redacted)
                changed.append(field)
        if changed:
            row.save(update_fields=changed)


def scrub_credentials(apps, schema_editor):
    text = ("raw_body", "raw_query")
    _scrub(apps.get_model("integrations", "Lead"), token_fields=("tokens",), text_fields=text)
    _scrub(
        apps.get_model("integrations", "ScheduleLead"), token_fields=("tokens",), text_fields=text
    )
    _scrub(apps.get_model("integrations", "RejectedPixel"), text_fields=text)
    _scrub(apps.get_model("integrations", "Call"), token_fields=("post_call_tokens",))


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0035_api_client_scopes"),
    ]

    operations = [
        migrations.RunPython(scrub_credentials, migrations.RunPython.noop, elidable=True),
    ]

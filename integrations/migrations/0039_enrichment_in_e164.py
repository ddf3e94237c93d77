"""Enrichment sends the caller's own E.164 number (issue 32, item 5).

The Ringba IDE template sent ``callerid=%2B1[caller_id_short]``, which turned every
non-US caller into a US number (a stranger's call). The template and the triggers
made from it now send ``callerid=[caller_id]``; the rest of each URL (host, offer
contact fields) is kept as it is.
"""

from django.db import migrations

OLD = "callerid=%2B1[caller_id_short]"
NEW = "callerid=[caller_id]"


def send_callers_own_number(apps, schema_editor):
    TriggerTemplate = apps.get_model("integrations", "TriggerTemplate")
    EventTrigger = apps.get_model("integrations", "EventTrigger")
    for rows in (
        TriggerTemplate.objects.filter(slug="ringba-ide"),
        EventTrigger.objects.filter(template__slug="ringba-ide"),
    ):
        for row in rows.filter(url_template__contains=OLD):
            row.url_template = row.url_template.replace(OLD, NEW)
            row.save(update_fields=["url_template"])


def back_to_us_prefix(apps, schema_editor):
    TriggerTemplate = apps.get_model("integrations", "TriggerTemplate")
    EventTrigger = apps.get_model("integrations", "EventTrigger")
    for rows in (
        TriggerTemplate.objects.filter(slug="ringba-ide"),
        EventTrigger.objects.filter(template__slug="ringba-ide"),
    ):
        for row in rows.filter(url_template__contains=NEW):
            row.url_template = row.url_template.replace(NEW, OLD)
            row.save(update_fields=["url_template"])


class Migration(migrations.Migration):
    dependencies = [("integrations", "0038_ledger_returns_adjustments")]
    operations = [migrations.RunPython(send_callers_own_number, back_to_us_prefix)]

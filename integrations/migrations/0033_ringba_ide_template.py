"""Ship the Ringba "Enrich Call Data" (IDE) trigger template (issue 27, part B)."""

from django.db import migrations

IDE_TEMPLATE = {
    "slug": "ringba-ide",
    "name": "RINGBA IDE: Enrich Call Data in the partner's Ringba when a call starts",
    "description": (
        "When a call starts, before it reaches the buyer, send its caller id and "
        "TrackDrive call uuid (and, for an offer's trigger, the offer's contact fields) "
        "to the partner's Ringba through Enrich Call Data. The Ringba number id comes "
        "from this trigger's ringba_number_id mapping for the call's traffic source, or "
        "a number's extra token; a partner without one is skipped, never sent to "
        "another partner's Ringba."
    ),
    "event": "call_started",
    "conditions": [],
    "http_method": "GET",
    "url_template": (
        "https://display.ringba.com/enrich/[ringba_number_id]"
        "?callerid=%2B1[caller_id_short]&trackdrive_call_uuid=[call_uuid]"
    ),
    "mapping_token_names": ["ringba_number_id"],
}


def install(apps, schema_editor):
    TriggerTemplate = apps.get_model("integrations", "TriggerTemplate")
    fields = dict(IDE_TEMPLATE)
    TriggerTemplate.objects.update_or_create(slug=fields.pop("slug"), defaults=fields)


def uninstall(apps, schema_editor):
    apps.get_model("integrations", "TriggerTemplate").objects.filter(
        slug=IDE_TEMPLATE["slug"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("integrations", "0032_api_client_public_key")]
    operations = [migrations.RunPython(install, uninstall)]

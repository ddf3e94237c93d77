"""Ship TrackDrive's Ringba global trigger template (SPEC §6.4)."""

from django.db import migrations

RINGBA_TEMPLATE = {
    "slug": "ringba-webhook",
    "name": (
        "GLOBAL TRIGGER: RINGBA WEBHOOK: Do a Postback for Ringba Traffic Sources if "
        "ringba_call_uuid is populated"
    ),
    "description": (
        "When a call converts for its traffic source, tell the partner's Ringba account "
        "through its global webhook. The webhook token comes from the number's "
        "ringba_webhook_token extra token, or from this trigger's ringba_webhook_token "
        "field mapping for the call's traffic source."
    ),
    "event": "call_offer_converted",
    "conditions": [{"token": "ringba_call_uuid", "operator": "is populated"}],
    "http_method": "GET",
    "url_template": (
        "https://webhook.ringba.com/hook/[ringba_webhook_token]"
        "?call_id=[ringba_call_uuid]&call_revenue=[payout]&sale_successful=true"
    ),
    "mapping_token_names": ["ringba_webhook_token"],
}


def install(apps, schema_editor):
    TriggerTemplate = apps.get_model("integrations", "TriggerTemplate")
    fields = dict(RINGBA_TEMPLATE)
    TriggerTemplate.objects.update_or_create(slug=fields.pop("slug"), defaults=fields)


def uninstall(apps, schema_editor):
    apps.get_model("integrations", "TriggerTemplate").objects.filter(
        slug=RINGBA_TEMPLATE["slug"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("integrations", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]

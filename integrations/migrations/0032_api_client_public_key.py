"""API clients get a public key (TrackDrive's Basic public:private), one per existing client."""

import secrets

from django.db import migrations, models

import integrations.models.api_clients


def give_public_keys(apps, schema_editor):
    ApiClient = apps.get_model("integrations", "ApiClient")
    for client in ApiClient.objects.filter(public_key__isnull=True).only("pk"):
        ApiClient.objects.filter(pk=client.pk).update(public_key="pub_" + secrets.token_hex(12))


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0031_stats_revenue"),
    ]

    operations = [
        migrations.AddField(
            model_name="apiclient",
            name="public_key",
            field=models.CharField(editable=False, max_length=40, null=True),
        ),
        migrations.RunPython(give_public_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apiclient",
            name="public_key",
            field=models.CharField(
                default=integrations.models.api_clients.generate_public_key,
                editable=False,
                max_length=40,
                unique=True,
            ),
        ),
    ]

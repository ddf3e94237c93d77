"""Turn the plain DRF tokens into hashed API-client keys (issue 14).

Each existing token keeps working (its key is hashed into an ApiClient for its
user) and the plain copy is deleted, so no key is readable in the database or the
admin any more.
"""

import hashlib

from django.db import migrations


def hash_tokens(apps, schema_editor):
    Token = apps.get_model("authtoken", "Token")
    ApiClient = apps.get_model("integrations", "ApiClient")
    for token in Token.objects.select_related("user"):
        if not ApiClient.objects.filter(user=token.user).exists():
            ApiClient.objects.create(
                name=f"{token.user.username} (from a plain token)"[:100],
                description="Migrated from a DRF token; rotate it to see a key again.",
                user=token.user,
                key_prefix=token.key[:8],
                key_hash=hashlib.sha256(token.key.encode()).hexdigest(),
            )
        token.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0014_api_clients"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]
    # Not reversible: the plain keys are gone (that is the point).
    operations = [migrations.RunPython(hash_tokens, migrations.RunPython.noop)]

"""Account managers deactivate triggers; they no longer delete them (SPEC §6.5).

Deliveries reference their trigger with PROTECT, so the delivery log survives any
configuration change; the delete permission would only lead to a refusal.
"""

from django.db import migrations

GROUP_NAME = "Account managers"
REVOKED = ["delete_eventtrigger", "delete_postbackdelivery", "delete_postbackattempt"]


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="integrations", codename__in=REVOKED)
        )


def restore(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="integrations", codename="delete_eventtrigger"
            )
        )


class Migration(migrations.Migration):
    dependencies = [("integrations", "0006_delivery_fence_and_collapse")]
    operations = [migrations.RunPython(revoke, restore)]

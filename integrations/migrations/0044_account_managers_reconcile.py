"""Account managers reconcile partners' Ringba and work Ringba adjustments (issues 31, 33).

They run reconciliations (view, add), review and fix their rows (view, change), and
see and mark done the adjustments those fixes and returns write (view, change).
"""

from django.db import migrations

GROUP_NAME = "Account managers"
CODENAMES = [
    "view_reconciliationrun",
    "add_reconciliationrun",
    "view_reconciliationrow",
    "change_reconciliationrow",
    "view_ringbaadjustment",
    "change_ringbaadjustment",
    "view_ringbaadjustmentattempt",
]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; make these exist now.
    app_config = apps.get_app_config("integrations")
    original = getattr(app_config, "models_module", None)
    app_config.models_module = True  # create_permissions skips apps without it
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = original

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="integrations", codename__in=CODENAMES
            )
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="integrations", codename__in=CODENAMES
            )
        )


class Migration(migrations.Migration):
    dependencies = [("integrations", "0043_reconciliation")]
    operations = [migrations.RunPython(grant, revoke)]

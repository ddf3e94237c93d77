"""Account managers see refused pixels (read-only), to fix a partner's Ringba pixel."""

from django.db import migrations

GROUP_NAME = "Account managers"
CODENAME = "view_rejectedpixel"


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; make this one exist now.
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
            *Permission.objects.filter(content_type__app_label="integrations", codename=CODENAME)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="integrations", codename=CODENAME)
        )


class Migration(migrations.Migration):
    dependencies = [("integrations", "0011_rejected_pixels")]
    operations = [migrations.RunPython(grant, revoke)]

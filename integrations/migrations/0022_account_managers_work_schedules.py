"""Account managers configure Lead-to-Call schedules and work their lead queue (SPEC §12).

Schedules and their contact fields: add, change, view (deleting a schedule with
leads is refused by the database anyway). Schedule leads: view, and change for
the requeue and opt-out actions; they are never added or deleted by hand.
"""

from django.db import migrations

GROUP_NAME = "Account managers"
CODENAMES = [
    "add_schedule",
    "change_schedule",
    "view_schedule",
    "add_schedulecontactfield",
    "change_schedulecontactfield",
    "delete_schedulecontactfield",
    "view_schedulecontactfield",
    "change_schedulelead",
    "view_schedulelead",
    "view_scheduleleadtransition",
]


def _permissions(apps):
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.filter(content_type__app_label="integrations", codename__in=CODENAMES)


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; make these exist now.
    app_config = apps.get_app_config("integrations")
    original = getattr(app_config, "models_module", None)
    app_config.models_module = True  # create_permissions skips apps without it
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = original

    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.add(*_permissions(apps))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.remove(*_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [("integrations", "0021_match_skips_schedule_calls")]
    operations = [migrations.RunPython(grant, revoke)]

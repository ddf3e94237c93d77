"""Create the "Account managers" group with what the operations console needs (SPEC §9)."""

from django.db import migrations

GROUP_NAME = "Account managers"
# model -> actions. Leads, calls and attempts are audit data: nobody deletes them here.
PERMISSIONS = {
    "offer": ["view", "add", "change", "delete"],
    "contactfield": ["view", "add", "change", "delete"],
    "trafficsource": ["view", "add", "change", "delete"],
    "number": ["view", "add", "change", "delete"],
    "numbertoken": ["view", "add", "change", "delete"],
    "eventtrigger": ["view", "add", "change", "delete"],
    "customfieldmapping": ["view", "add", "change", "delete"],
    "triggertemplate": ["view"],
    "lead": ["view"],
    "call": ["view", "change"],
    "postbackdelivery": ["view", "change"],
    "postbackattempt": ["view"],
}


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; make them exist now.
    for app_config in apps.get_app_configs():
        original = getattr(app_config, "models_module", None)
        app_config.models_module = True  # create_permissions skips apps without it
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = original

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    codenames = [
        f"{action}_{model}" for model, actions in PERMISSIONS.items() for action in actions
    ]
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="integrations", codename__in=codenames)
    )


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0002_ringba_trigger_template"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_group, remove_group)]

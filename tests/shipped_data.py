"""Re-create the rows the data migrations ship, for tests that run after a flush.

Transactional tests (live_server, real processes) end with a database flush, which
also removes the Ringba trigger template and the "Account managers" group that the
data migrations installed. Running the migrations' own functions restores them.
"""

from importlib import import_module

from django.apps import apps


def reinstall_shipped_rows() -> None:
    import_module("integrations.migrations.0002_ringba_trigger_template").install(apps, None)
    import_module("integrations.migrations.0033_ringba_ide_template").install(apps, None)
    import_module("integrations.migrations.0039_enrichment_in_e164").send_callers_own_number(
        apps, None
    )
    import_module("integrations.migrations.0003_account_managers_group").create_group(apps, None)
    import_module("integrations.migrations.0007_account_managers_keep_delivery_log").revoke(
        apps, None
    )
    import_module("integrations.migrations.0012_account_managers_see_rejected_pixels").grant(
        apps, None
    )
    import_module("integrations.migrations.0022_account_managers_work_schedules").grant(apps, None)
    import_module("integrations.migrations.0044_account_managers_reconcile").grant(apps, None)

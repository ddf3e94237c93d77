"""Leads without a partner: TrackDrive's POST /api/v1/leads (issue 32, item 2).

TrackDrive requires only ``lead_token`` and ``caller_id``. A lead sent without
``traffic_source_id`` belongs to the offer: ``integrations_match_new_lead`` lets it
take any of the offer's calls from that caller, and gives it that call's partner.
"""

from importlib import import_module

import django.db.models.deletion
from django.db import migrations, models

CREATE = r"""
CREATE OR REPLACE FUNCTION integrations_match_new_lead(
    p_lead bigint,
    p_offer bigint,
    p_source bigint,
    p_caller text,
    p_received timestamptz,
    p_window_seconds integer,
    p_tolerance_seconds integer,
    OUT attached_call bigint,
    OUT converted_call bigint
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    window_size interval := make_interval(secs => p_window_seconds);
    too_old timestamptz := p_received - make_interval(secs => p_tolerance_seconds);
    candidate record;
    converted_now boolean;
BEGIN
    PERFORM pg_advisory_xact_lock(4401, hashtext(p_offer::text || ':' || p_caller));
    -- Each statement below takes a fresh snapshot (READ COMMITTED, VOLATILE), so a
    -- call committed while we waited for the lock is visible.
    SELECT id, (offer_converted OR buyer_converted) AS converted INTO candidate
    FROM integrations_call
    WHERE offer_id = p_offer
      AND caller_id = p_caller
      AND (p_source IS NULL OR traffic_source_id = p_source)
      AND lead_id IS NULL
      AND schedule_lead_id IS NULL  -- a schedule's callback never takes a direct lead
      AND started_at BETWEEN p_received - window_size AND p_received + window_size
      AND (ended_at IS NULL OR ended_at >= too_old)
      AND (NOT offer_converted OR offer_converted_at >= too_old)
      AND (NOT buyer_converted OR buyer_converted_at >= too_old)
    ORDER BY abs(extract(epoch FROM started_at - p_received)), id DESC
    LIMIT 1;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF candidate.converted THEN
        converted_call := candidate.id;  -- attach and re-evaluate on the locked path
        RETURN;
    END IF;
    -- The UPDATE may wait on the call's row lock (a conversion in flight). It then
    -- sees the row as committed meanwhile, and so does RETURNING: a conversion made
    -- while we waited is reported, and the caller announces it.
    UPDATE integrations_call SET lead_id = p_lead, updated_at = clock_timestamp()
    WHERE id = candidate.id AND lead_id IS NULL
    RETURNING id, (offer_converted OR buyer_converted) INTO attached_call, converted_now;
    IF attached_call IS NOT NULL AND p_source IS NULL THEN
        -- A lead sent without a partner takes the partner of the call it joined.
        UPDATE integrations_lead SET traffic_source_id = (
            SELECT traffic_source_id FROM integrations_call WHERE id = attached_call
        ) WHERE id = p_lead;
    END IF;
    IF converted_now THEN
        converted_call := attached_call;
    END IF;
END;
$$;
"""

PREVIOUS = import_module("integrations.migrations.0025_attach_reports_conversion_after_wait").CREATE


def replace_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def restore_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PREVIOUS)


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0041_delivery_deadlines"),
    ]

    operations = [
        migrations.AlterField(
            model_name="lead",
            name="traffic_source",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="leads",
                to="integrations.trafficsource",
            ),
        ),
        migrations.RunPython(replace_function, restore_function, elidable=False),
    ]

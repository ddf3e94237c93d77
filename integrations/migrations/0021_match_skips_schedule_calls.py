"""Matching leaves a schedule's callbacks alone (SPEC §12).

``integrations_match_new_lead`` (migration 0005) gains one condition: a call placed
for a Lead-to-Call schedule lead carries that lead's tokens and never attaches to
a direct pixel. ``matching.candidate_call_for_lead`` applies the same rule.
"""

from importlib import import_module

from django.db import migrations

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
BEGIN
    PERFORM pg_advisory_xact_lock(4401, hashtext(p_offer::text || ':' || p_caller));
    -- Each statement below takes a fresh snapshot (READ COMMITTED, VOLATILE), so a
    -- call committed while we waited for the lock is visible.
    SELECT id, (offer_converted OR buyer_converted) AS converted INTO candidate
    FROM integrations_call
    WHERE offer_id = p_offer
      AND caller_id = p_caller
      AND traffic_source_id = p_source
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
    UPDATE integrations_call SET lead_id = p_lead, updated_at = clock_timestamp()
    WHERE id = candidate.id AND lead_id IS NULL
    RETURNING id INTO attached_call;
END;
$$;
"""

# What 0005 installed, restored when this migration is reversed.
PREVIOUS = import_module("integrations.migrations.0005_match_new_lead_function").CREATE


def replace_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def restore_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PREVIOUS)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0020_lead_to_call_schedules")]

    operations = [migrations.RunPython(replace_function, restore_function, elidable=False)]

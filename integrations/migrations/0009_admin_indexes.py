"""Indexes that lead with what the admin searches and orders by (issue 14).

The match indexes now lead with caller_id (matching gives offer and caller, both
equalities, so it is served as before; the admin's caller search gives no offer),
the idempotency constraint leads with ringba_call_uuid, and each big list has an
index on its full newest-first ordering. The plain foreign-key indexes on offer
and traffic source become (fk, newest first): the same count of indexes on the
capture path, and an offer's or a source's newest rows (and last pixel) are one
probe. New indexes are built before the old ones
are dropped, concurrently on PostgreSQL, so capture and matching never run
without one. The constraint is swapped in one short locking step (a unique index
cannot be attached to a constraint concurrently).
"""

import django.db.models.deletion
from django.db import migrations, models

from ._online import AddIndexOnline, RemoveIndexOnline


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("integrations", "0008_retention_indexes"),
    ]

    operations = [
        AddIndexOnline(
            model_name="lead",
            index=models.Index(
                fields=["caller_id", "offer", "-received_at"], name="lead_caller_idx"
            ),
        ),
        AddIndexOnline(
            model_name="lead",
            index=models.Index(fields=["-received_at", "-id"], name="lead_newest_idx"),
        ),
        AddIndexOnline(
            model_name="call",
            index=models.Index(
                fields=["caller_id", "offer", "-started_at"], name="call_caller_idx"
            ),
        ),
        AddIndexOnline(
            model_name="call",
            index=models.Index(fields=["-started_at", "-id"], name="call_newest_idx"),
        ),
        AddIndexOnline(
            model_name="postbackdelivery",
            index=models.Index(fields=["-created_at", "-id"], name="delivery_newest_idx"),
        ),
        AddIndexOnline(
            model_name="lead",
            index=models.Index(fields=["offer", "-received_at"], name="lead_offer_idx"),
        ),
        AddIndexOnline(
            model_name="lead",
            index=models.Index(fields=["traffic_source", "-received_at"], name="lead_source_idx"),
        ),
        AddIndexOnline(
            model_name="call",
            index=models.Index(fields=["offer", "-started_at"], name="call_offer_idx"),
        ),
        AddIndexOnline(
            model_name="call",
            index=models.Index(fields=["traffic_source", "-started_at"], name="call_source_idx"),
        ),
        # The plain foreign-key indexes are covered by the four above (their first column).
        *(
            migrations.AlterField(
                model_name=model_name,
                name=name,
                field=models.ForeignKey(
                    db_index=False,
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name=related_name,
                    to=to,
                ),
            )
            for model_name, related_name in (("lead", "leads"), ("call", "calls"))
            for name, to in (
                ("offer", "integrations.offer"),
                ("traffic_source", "integrations.trafficsource"),
            )
        ),
        migrations.AlterField(  # choices only: no change in the database
            model_name="postbackdelivery",
            name="event",
            field=models.CharField(
                choices=[
                    ("call_buyer_converted", "Call buyer converted"),
                    ("call_offer_converted", "Call offer converted"),
                    ("call_started", "Call started"),
                    ("call_ended", "Call ended"),
                    ("lead_captured", "Lead captured"),
                ],
                max_length=32,
            ),
        ),
        migrations.RemoveConstraint(
            model_name="lead",
            name="lead_unique_ringba_call_uuid_per_offer",
        ),
        migrations.AddConstraint(
            model_name="lead",
            constraint=models.UniqueConstraint(
                condition=models.Q(("ringba_call_uuid__isnull", False)),
                fields=("ringba_call_uuid", "offer"),
                name="lead_unique_ringba_call_uuid_per_offer",
            ),
        ),
        RemoveIndexOnline(model_name="lead", name="lead_match_idx"),
        RemoveIndexOnline(model_name="lead", name="lead_received_idx"),
        RemoveIndexOnline(model_name="call", name="call_match_idx"),
        RemoveIndexOnline(model_name="call", name="call_started_idx"),
    ]

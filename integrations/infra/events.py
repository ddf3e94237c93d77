"""Signals that carry domain events between the parts of the product.

Definitions only; they hold no rules. The write paths (services) send them inside
the transaction that records a change, once per real transition. Subscribers are
connected in ``IntegrationsConfig.ready()``:
- ``call_event``, ``lead_captured`` and ``schedule_lead_event`` → ``services.firing``
  writes deliveries in that same transaction (the single door into firing);
- ``delivery_due`` and ``adjustment_due`` (sent after commit) → ``tasks`` queues the
  attempt.
"""

from django.dispatch import Signal

# sender: the Call class; kwargs: call (Call), event (models.Event value), cause (str:
# what made it happen, shown in the admin's "why" panel, e.g. "calls API").
call_event = Signal()
# sender: the Lead class; kwargs: lead (Lead), cause (str).
lead_captured = Signal()
# sender: the ScheduleLead class; kwargs: lead (ScheduleLead), event (a schedule_lead_*
# models.Event value), cause (str).
schedule_lead_event = Signal()
# sender: the PostbackDelivery class; kwargs: delivery_id (int), manual (bool).
delivery_due = Signal()
# sender: the RingbaAdjustment class; kwargs: adjustment_id (int). Sent after commit;
# ``tasks`` queues the request to the partner's Ringba.
adjustment_due = Signal()
# sender: the Payment class; kwargs: call_id (int). Sent after the payment's commit;
# ``services.adjustments`` settles it against the call as it is then.
payment_recorded = Signal()

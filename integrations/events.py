"""Signals that carry domain events from the write paths to the trigger engine.

Services send these inside the transaction that records the state change, once
per real transition; the receivers here hold no rules, they hand the event to
``services.firing``, which writes deliveries in that same transaction.
"""

from django.dispatch import Signal, receiver

# sender: the Call class; kwargs: call (Call), event (models.Event value).
call_event = Signal()
# sender: the Lead class; kwargs: lead (Lead).
lead_captured = Signal()


@receiver(call_event, dispatch_uid="integrations.fire_call_triggers")
def fire_call_triggers(sender, *, call, event, **kwargs):
    from .services.firing import fire_call_event

    fire_call_event(call=call, event=event)


@receiver(lead_captured, dispatch_uid="integrations.fire_lead_triggers")
def fire_lead_triggers(sender, *, lead, **kwargs):
    from .services.firing import fire_lead_event

    fire_lead_event(lead=lead)

"""Trigger health: tell the account managers, pause after days of failure, recover.

Svix-style endpoint health (SPEC §13). The worker's sweeper calls ``check`` every
few seconds; it is cheap (two indexed-by-size queries on the small trigger table)
and safe with any number of workers, because each alert and each pause is claimed
by a conditional UPDATE that only one of them can win:
- a trigger, or a destination host (one trigger can post to many partners' hosts),
  reaching ``TRIGGER_ALERT_AFTER_FAILURES`` failures in a row emails the account
  managers once for that streak (a success ends the streak and re-arms);
- a trigger that has failed without one success for ``TRIGGER_PAUSE_AFTER_DAYS`` is
  paused, with the reason. Its deliveries are neither dropped nor attempted: they
  wait, and ``resume`` sends them. Events keep writing deliveries meanwhile.
``recover_failed`` re-sends a chosen period's failed deliveries (new attempts on
the same rows).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.functions import Concat
from django.urls import reverse
from django.utils import timezone

from ..models import (
    DUE_STATUSES,
    DeliveryStatus,
    DestinationHealth,
    EventTrigger,
    PostbackDelivery,
)
from .deliveries import resend_delivery

logger = logging.getLogger(__name__)

ACCOUNT_MANAGERS = "Account managers"


def check(now: datetime | None = None) -> dict[str, int]:
    """Send due alerts and pause triggers failing too long; return what it did."""
    now = now or timezone.now()
    alerted = paused = 0
    threshold = settings.TRIGGER_ALERT_AFTER_FAILURES
    for trigger in _claim_alerts(EventTrigger, threshold, now):
        tell_account_managers(
            f"Postbacks failing: {trigger.name}",
            f"The trigger “{trigger.name}” has failed {trigger.consecutive_failures} "
            f"times in a row (since {trigger.failing_since:%Y-%m-%d %H:%M:%S %Z}).\n"
            f"Last error: {trigger.last_error or '—'}\n\n{_failing_link(trigger)}\n\n"
            f"It is paused if it keeps failing for {settings.TRIGGER_PAUSE_AFTER_DAYS} days.",
        )
        alerted += 1
    for host in _claim_alerts(DestinationHealth, threshold, now):
        tell_account_managers(
            f"Postbacks failing at {host.host}",
            f"Postbacks to {host.host} have failed {host.consecutive_failures} times in a "
            f"row (since {host.failing_since:%Y-%m-%d %H:%M:%S %Z}), whichever trigger "
            f"sent them.\nLast error: {host.last_error or '—'}",
        )
        alerted += 1
    cutoff = now - timedelta(days=settings.TRIGGER_PAUSE_AFTER_DAYS)
    for trigger in EventTrigger.objects.filter(
        paused_at__isnull=True, consecutive_failures__gt=0, failing_since__lte=cutoff
    ):
        reason = (
            f"Paused automatically: no postback succeeded since "
            f"{trigger.failing_since:%Y-%m-%d %H:%M %Z} ({trigger.consecutive_failures} "
            f"failures in a row). Last error: {trigger.last_error or '—'}"
        )[:500]
        if EventTrigger.objects.filter(pk=trigger.pk, paused_at__isnull=True).update(
            paused_at=now, pause_reason=reason
        ):
            logger.warning("trigger %s paused: %s", trigger.pk, reason)
            tell_account_managers(
                f"Trigger paused: {trigger.name}",
                f"{reason}\n\nIts deliveries wait and are sent when the trigger is resumed "
                f"(admin: Event triggers, action “Resume”).\n\n{_failing_link(trigger)}",
            )
            paused += 1
    return {"alerted": alerted, "paused": paused}


def _claim_alerts(model, threshold: int, now: datetime):
    """Rows past the threshold whose alert this caller won (a conditional UPDATE each),
    so that of several workers checking at once exactly one sends each alert."""
    for row in model.objects.filter(consecutive_failures__gte=threshold, alerted_at__isnull=True):
        if model.objects.filter(pk=row.pk, alerted_at__isnull=True).update(alerted_at=now):
            yield row


def resume(trigger: EventTrigger) -> bool:
    """Un-pause: the waiting deliveries go out with the next sweep. False if not paused."""
    return bool(
        EventTrigger.objects.filter(pk=trigger.pk, paused_at__isnull=False).update(
            paused_at=None, pause_reason="", failing_since=None, alerted_at=None
        )
    )


def recover_failed(trigger: EventTrigger, *, since: datetime) -> int:
    """Re-send the trigger's failed deliveries created since ``since``; return how many."""
    failed = PostbackDelivery.objects.filter(
        trigger=trigger, status=DeliveryStatus.FAILED, is_test=False, created_at__gte=since
    )
    return sum(resend_delivery(delivery=delivery) for delivery in failed.iterator())


def failing_triggers():
    """The triggers the admin's banner names: past the alert threshold, or paused."""
    return EventTrigger.objects.filter(
        Q(consecutive_failures__gte=settings.TRIGGER_ALERT_AFTER_FAILURES)
        | Q(paused_at__isnull=False)
    ).order_by("-consecutive_failures")


def failing_hosts():
    """Destination hosts past the alert threshold that postbacks still wait for, worst
    first (the banner, the dashboard).

    A host nothing pending targets any more (its trigger was pointed elsewhere, its
    postbacks skipped or re-planned) is no longer a problem to show, although its
    streak only ends with a success.
    """
    waiting_for_host = PostbackDelivery.objects.filter(
        status__in=DUE_STATUSES, url__contains=Concat(Value("://"), OuterRef("host"))
    )
    return (
        DestinationHealth.objects.filter(
            consecutive_failures__gte=settings.TRIGGER_ALERT_AFTER_FAILURES
        )
        .filter(Exists(waiting_for_host))
        .order_by("-consecutive_failures")[:10]
    )


def acknowledge_host(host_id: int, *, who: str) -> bool:
    """Hide a failing host's banner for this streak; False if it is not failing now."""
    return bool(
        DestinationHealth.objects.filter(
            pk=host_id, consecutive_failures__gt=0, acknowledged_at__isnull=True
        ).update(acknowledged_at=timezone.now(), acknowledged_by=who[:150])
    )


def alert_recipients() -> set[str]:
    """Who an alert is emailed to: TRIGGER_ALERT_EMAILS and the account managers'."""
    recipients = set(settings.TRIGGER_ALERT_EMAILS)
    recipients.update(
        get_user_model()
        .objects.filter(is_active=True, groups__name=ACCOUNT_MANAGERS)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    return recipients


def _failing_link(trigger) -> str:
    path = reverse("admin:integrations_postbackdelivery_changelist")
    return (
        f"Failing deliveries: {settings.PUBLIC_BASE_URL}{path}"
        f"?trigger__id__exact={trigger.pk}&status__exact=failed"
    )


def tell_account_managers(subject: str, body: str) -> None:
    """Email the account managers (and TRIGGER_ALERT_EMAILS); log when there is nobody
    (the admin's banner says so too)."""
    recipients = alert_recipients()
    if not recipients:
        logger.warning("no one to tell (%s): add emails to the account managers", subject)
        return
    send_mail(subject, body, None, sorted(recipients), fail_silently=True)

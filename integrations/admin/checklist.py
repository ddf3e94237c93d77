"""The home page's per-offer checklist: is each offer ready to buy Ringba calls?

For every offer, what an account manager checks before a partner goes live:
sources enabled, tracking numbers, a trigger that posts conversions back, a Ringba
webhook token for each enabled source (from the source's field mapping on that
trigger, or from an extra token on every one of the source's numbers), the last
pixel received and the trigger's last postback. A fixed handful of queries
however many offers there are (no per-offer query, no count over leads).
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q

from ..models import CustomFieldMapping, Event, EventTrigger, Lead, Number, NumberToken, Offer
from ..rules.ringba import WEBHOOK_TOKEN_NAME
from .big_tables import newest_of

CONVERSION_EVENTS = (Event.CALL_OFFER_CONVERTED, Event.CALL_BUYER_CONVERTED)


@dataclass
class OfferReadiness:
    offer: Offer
    sources: list = field(default_factory=list)
    numbers: int = 0
    triggers: list = field(default_factory=list)
    sources_without_token: list = field(default_factory=list)
    last_pixel: object = None

    @property
    def problems(self) -> list[str]:
        found = []
        if not self.offer.active:
            found.append("inactive")
        if not self.sources:
            found.append("no traffic source enabled")
        if not self.numbers:
            found.append("no active tracking number")
        if not self.triggers:
            found.append("no active conversion trigger")
        if self.sources_without_token:
            names = ", ".join(source.name for source in self.sources_without_token)
            found.append(f"no Ringba webhook token for {names}")
        for trigger in self.triggers:
            # Not ready while its postbacks do not arrive: conversions are not being paid.
            if trigger.paused_at:
                found.append(f"conversion trigger paused: {trigger.name[:40]}")
            elif trigger.consecutive_failures:
                found.append(f"conversion postbacks failing {trigger.consecutive_failures} times")
        return found

    @property
    def failing_triggers(self) -> list:
        return [trigger for trigger in self.triggers if trigger.consecutive_failures]


def offer_checklist() -> list[OfferReadiness]:
    offers = list(
        Offer.objects.annotate(_last_pixel=newest_of(Lead, "offer", "received_at"))
        .prefetch_related("traffic_sources")
        .order_by("-active", "name")
    )
    numbers = defaultdict(int)
    for row in (
        Number.objects.filter(active=True).values("offer_id").annotate(total=Count("pk")).order_by()
    ):
        numbers[row["offer_id"]] = row["total"]
    triggers = list(
        EventTrigger.objects.filter(active=True, event__in=CONVERSION_EVENTS).order_by("pk")
    )
    mapped = set(
        CustomFieldMapping.objects.filter(
            token_name=WEBHOOK_TOKEN_NAME, trigger__in=triggers
        ).values_list("trigger_id", "traffic_source_id")
    )
    numbers_by_pair = defaultdict(set)
    for pk, offer_id, source_id in Number.objects.filter(active=True).values_list(
        "pk", "offer_id", "traffic_source_id"
    ):
        numbers_by_pair[offer_id, source_id].add(pk)
    tokened = set(
        NumberToken.objects.filter(key=WEBHOOK_TOKEN_NAME)
        .exclude(Q(value="") | Q(number__active=False))
        .values_list("number_id", flat=True)
    )

    rows = []
    for offer in offers:
        covering = [t for t in triggers if t.offer_id in (None, offer.pk)]
        sources = [source for source in offer.traffic_sources.all() if source.active]
        without = []
        for source in sources:
            by_mapping = any((trigger.pk, source.pk) in mapped for trigger in covering)
            pair_numbers = numbers_by_pair[offer.pk, source.pk]
            by_numbers = bool(pair_numbers) and pair_numbers <= tokened
            if not (by_mapping or by_numbers):
                without.append(source)
        rows.append(
            OfferReadiness(
                offer=offer,
                sources=sources,
                numbers=numbers[offer.pk],
                triggers=covering,
                sources_without_token=without,
                last_pixel=offer._last_pixel,
            )
        )
    return rows

"""Where a number's extra token wins over a trigger's field mapping (issue 26, point 4).

For a call, a tracking number's extra token (e.g. ringba_webhook_token) beats the
trigger's mapping for the call's traffic source. That is by design (one number may
belong to a partner's special campaign), but it was silent: an account manager
fixed the mapping and the postbacks kept going to the number's token. Both the
trigger's and the number's pages now say which numbers win, when they are saved
and in a table of effective tokens on the trigger's page.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.utils.html import format_html, format_html_join

from ..models import CustomFieldMapping, NumberToken

SHOWN_AT_MOST = 50


@dataclass(frozen=True)
class Override:
    trigger_name: str
    token: str
    number: str
    source: str
    number_value: str
    mapping_value: str


def overrides_for_trigger(trigger) -> list[Override]:
    """Numbers whose extra token beats one of ``trigger``'s mappings, for its scope.

    Two queries whatever the number of mappings: the mappings, then every extra token
    of those names on numbers of those sources.
    """
    mappings = {
        (mapping.token_name, mapping.traffic_source_id): mapping
        for mapping in trigger.mappings.select_related("traffic_source")
    }
    if not mappings:
        return []
    tokens = NumberToken.objects.filter(
        key__in={name for name, _ in mappings},
        number__traffic_source_id__in={source for _, source in mappings},
    ).select_related("number")
    if trigger.offer_id:
        tokens = tokens.filter(number__offer_id=trigger.offer_id)
    found = []
    for token in tokens.order_by("number__number", "key")[:SHOWN_AT_MOST]:
        mapping = mappings.get((token.key, token.number.traffic_source_id))
        if mapping is not None:
            found.append(
                Override(
                    trigger.name,
                    token.key,
                    token.number.number,
                    str(mapping.traffic_source),
                    token.value,
                    mapping.value,
                )
            )
    return found


def overrides_for_number(number) -> list[Override]:
    """The triggers whose mapping this number's extra tokens beat."""
    keys = dict(number.extra_tokens.values_list("key", "value"))
    mappings = CustomFieldMapping.objects.filter(
        token_name__in=keys, traffic_source_id=number.traffic_source_id
    ).select_related("trigger", "traffic_source")
    return [
        Override(
            mapping.trigger.name,
            mapping.token_name,
            number.number,
            str(mapping.traffic_source),
            keys[mapping.token_name],
            mapping.value,
        )
        for mapping in mappings
        if mapping.trigger.offer_id in (None, number.offer_id)
    ]


def warn(model_admin, request, overrides: list[Override]) -> None:
    if not overrides:
        return
    model_admin.message_user(
        request,
        format_html(
            "An extra token on a number wins over the trigger's field mapping for calls on "
            "that number: {}. Remove the number's token to use the mapping.",
            format_html_join(
                "; ",
                "{} on {} (source {}) beats “{}” of {}",
                (
                    (o.token, o.number, o.source, o.mapping_value[:12], o.trigger_name[:40])
                    for o in overrides[:10]
                ),
            ),
        ),
        messages.WARNING,
    )


def effective_tokens_table(overrides: list[Override]) -> str:
    if not overrides:
        return "No number overrides this trigger's mappings: each source's mapping is used."
    return format_html(
        '<table class="why-table"><thead><tr><th>Number</th><th>Source</th><th>Token</th>'
        "<th>Sent (the number's)</th><th>Mapping (not used)</th></tr></thead><tbody>{}</tbody>"
        "</table>",
        format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td>"
            "<td><code>{}</code></td></tr>",
            ((o.number, o.source, o.token, o.number_value, o.mapping_value) for o in overrides),
        ),
    )

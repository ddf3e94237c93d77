"""The "why" panel: what made a delivery (or a call's conversion) happen (SPEC §9).

A delivery stores its explanation when it is planned (``services.firing.explain``):
the cause of the event, each condition with the value it saw and its verdict, and
each token of the URL with its value and the layer it came from, with the layers it
beat. Rendered here as small tables; deliveries planned before the explanation
existed say so.
"""

from django.utils.html import format_html, format_html_join

from ..outbound.tokens import FIELD_MAPPING, NUMBER_TOKEN, PIXEL, POST_CALL, SYSTEM, TEST_FIRE

# Where each layer is edited, for "where did this value come from?".
LAYER_HINTS = {
    SYSTEM: "computed by the portal from the call",
    NUMBER_TOKEN: "the tracking number's extra tokens",
    FIELD_MAPPING: "the trigger's custom field mapping for this traffic source",
    POST_CALL: "post-call tokens sent with the call update",
    PIXEL: "the Ringba pixel (the lead)",
    TEST_FIRE: "replaced by the test fire (a fake TEST-… id)",
}


def delivery_why(delivery) -> str:
    explanation = delivery.explanation or {}
    if not explanation:
        return "Planned before explanations were recorded."
    parts = [format_html("<p><strong>Cause:</strong> {}</p>", explanation.get("cause") or "—")]
    parts.append(_conditions_table(explanation.get("conditions", [])))
    parts.append(_tokens_table(explanation.get("tokens", [])))
    if delivery.skip_reason:
        parts.append(format_html("<p><strong>Skipped:</strong> {}</p>", delivery.skip_reason))
    return format_html(
        '<div class="why-panel">{}</div>', format_html_join("", "{}", ((p,) for p in parts))
    )


UNRECORDED = "not recorded (before causes were kept)"


def call_why(call) -> str:
    """Each side of the call: when and why it converted, or why it did not."""
    rows = []
    for what, side in (("Offer conversion", "offer"), ("Buyer conversion", "buyer")):
        if getattr(call, f"{side}_converted"):
            cause = getattr(call, f"{side}_converted_by") or UNRECORDED
            rows.append((what, getattr(call, f"{side}_converted_at"), cause))
        else:
            rows.append((what, "not converted", not_converted_reason(call, side)))
    return format_html(
        '<table class="why-table"><thead><tr><th>What</th><th>When</th><th>Why</th></tr>'
        "</thead><tbody>{}</tbody></table>",
        format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
    )


def not_converted_reason(call, side: str) -> str:
    """Why ``side`` ("offer" or "buyer") of a call is not converted, in words."""
    undone = _unconverted_entry(call, side)
    if undone is not None:
        who = undone.user.get_username() if undone.user_id else "someone"
        return f"un-converted by {who} on {undone.action_time:%Y-%m-%d %H:%M}: " + (
            undone.get_change_message()
        )
    offer = call.offer
    if side == "offer" and offer.has_conversion_rule:
        rule = f"{offer.min_duration_seconds} s"
        if call.duration is None:
            return (
                f"no conversion reported; the offer's duration rule converts calls of at "
                f"least {rule}, and this call has not ended"
            )
        if call.duration < offer.min_duration_seconds:
            return f"the offer's duration rule: {call.duration} s < {rule}"
    reporter = "the calls API or an account manager"
    return f"no {side} conversion reported (by {reporter})"


def _unconverted_entry(call, side: str):
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    return (
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(call),
            object_id=str(call.pk),
            change_message__startswith=f"Un-converted the {side} conversion",
        )
        .select_related("user")
        .order_by("-action_time")
        .first()
    )


def _conditions_table(checked: list) -> str:
    if not checked:
        return format_html("<p><strong>Conditions:</strong> none (always fires)</p>")
    return format_html(
        '<table class="why-table"><caption>Conditions</caption><thead><tr><th>Rule</th>'
        "<th>Value</th><th>Verdict</th></tr></thead><tbody>{}</tbody></table>",
        format_html_join(
            "",
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
            (
                (
                    rule["rule"],
                    rule["value"] or "(empty)",
                    "✔ holds" if rule["holds"] else "✘ fails",
                )
                for rule in checked
            ),
        ),
    )


def _tokens_table(tokens: list) -> str:
    if not tokens:
        return ""
    return format_html(
        '<table class="why-table"><caption>Tokens</caption><thead><tr><th>Token</th>'
        "<th>Value</th><th>From</th><th>Also set by (lost)</th></tr></thead><tbody>{}</tbody>"
        "</table>",
        format_html_join(
            "",
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            (
                (
                    token["name"],
                    token["value"] or "(empty)",
                    LAYER_HINTS.get(token["source"], token["source"]) or "nowhere",
                    "; ".join(
                        f"{LAYER_HINTS.get(o['source'], o['source'])}: {o['value']}"
                        for o in token["overridden"]
                    )
                    or "—",
                )
                for token in tokens
            ),
        ),
    )

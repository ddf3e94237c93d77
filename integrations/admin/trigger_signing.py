"""Signing a trigger's requests (Standard Webhooks): the secrets shown by their ends, and the
actions that make, rotate, finish rotating and stop them."""

from django.contrib import admin, messages
from django.utils.html import format_html

from ..infra.secrets_at_rest import SecretUnreadable, hint
from ..services import trigger_signing


class SigningActions:
    """The trigger admin's signing panel and actions."""

    @admin.display(description="signing secrets")
    def signing(self, trigger):
        if not trigger.signing_secret:
            return "Not signed."
        # Shown once, when made (the rotate action's message); here only their ends.
        try:
            current, *previous = [hint(secret) for secret in trigger.signing_secrets]
        except SecretUnreadable:
            return "Stored, but no key in FIELD_ENCRYPTION_KEYS opens it: rotate the secret."
        shown = format_html("<code>{}</code> (current)", current)
        if not previous:
            return shown
        return format_html(
            "{}<br><code>{}</code> (previous: still signing until the rotation is finished)",
            shown,
            previous[0],
        )

    @admin.action(
        description="Sign requests: make or rotate the signing secret", permissions=["change"]
    )
    def rotate_signing_secret(self, request, queryset):
        for trigger in queryset:
            rotated = trigger_signing.rotate(trigger.pk)
            self.log_change(request, trigger, "Signing secret made or rotated")
            self.message_user(
                request,
                format_html(
                    "{}: new signing secret <code>{}</code> — copy it now, it is stored "
                    "encrypted and not shown again.",
                    trigger.name,
                    rotated.new_secret,
                ),
                messages.WARNING,
            )
        self.message_user(
            request,
            "Give each receiver its trigger's new secret, then finish the rotation. Until "
            "then both sign (a second rotation before that keeps the receiver's secret).",
            messages.SUCCESS,
        )

    @admin.action(
        description="Finish the signing rotation (drop the previous secret)", permissions=["change"]
    )
    def finish_signing_rotation(self, request, queryset):
        finished = [t for t in queryset if trigger_signing.finish_rotation(t.pk)]
        for trigger in finished:
            self.log_change(request, trigger, "Signing rotation finished")
        self.message_user(request, f"Finished {len(finished)} rotation(s).", messages.SUCCESS)

    @admin.action(description="Stop signing requests", permissions=["change"])
    def stop_signing(self, request, queryset):
        stopped = [t for t in queryset if trigger_signing.stop(t.pk)]
        for trigger in stopped:
            self.log_change(request, trigger, "Signing stopped")
        self.message_user(
            request, f"{len(stopped)} trigger(s) now send unsigned.", messages.SUCCESS
        )

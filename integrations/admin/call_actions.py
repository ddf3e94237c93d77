"""The call admin's conversion actions: un-convert, mark converted, end now.

Each asks first (a confirmation page showing the version it read) and goes through
services.calls, so a call changed since the page was read is refused, not
overwritten."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from ..rules.errors import Rejected
from ..services.calls import CallUpdate, update_call
from ..services.paid import paid_postback
from ..services.returns import Conversion, unconvert_call
from .confirm import action_form, confirmation_page


class UnconvertForm(forms.Form):
    conversion = forms.ChoiceField(
        choices=[
            (Conversion.OFFER, "Offer conversion (payout to the traffic source)"),
            (Conversion.BUYER, "Buyer conversion (revenue from the buyer)"),
        ],
        widget=forms.RadioSelect,
        initial=Conversion.OFFER,
    )
    reason = forms.CharField(
        max_length=150,
        help_text="Recorded in the call's history and on the postbacks it skips.",
    )


class ConversionForm(forms.Form):
    KIND_CHOICES = [
        ("offer", "Offer conversion (payout to the traffic source; fires the Ringba postback)"),
        ("buyer", "Buyer conversion (revenue from the buyer)"),
    ]
    kind = forms.ChoiceField(choices=KIND_CHOICES, widget=forms.RadioSelect, initial="offer")
    amount = forms.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        help_text="Empty: the offer's payout (offer conversions only).",
    )


class ConversionActions:
    """Un-convert…, Mark converted… and End now, for the call list."""

    @admin.action(description="Un-convert…", permissions=["change"])
    def unconvert(self, request, queryset):
        """Undo a conversion once confirmed: version-checked, recorded, unsent postbacks skipped."""
        calls = list(queryset.select_related("offer")[:100])
        form = action_form(UnconvertForm, request)
        if not form.is_valid():
            for call in calls:
                call.paid = paid_postback(call)
            return confirmation_page(
                self,
                request,
                "admin/integrations/call/unconvert.html",
                "Un-convert calls",
                form=form,
                calls=calls,
            )
        conversion, reason = form.cleaned_data["conversion"], form.cleaned_data["reason"]
        who = f"admin: Un-convert ({request.user.get_username()}): {reason}"
        done, skipped = 0, 0
        for call in calls:
            try:
                read_at = int(request.POST.get(f"version_{call.pk}", ""))
            except ValueError:
                self.message_user(
                    request, f"{call.call_uuid}: reopen the confirmation page", messages.ERROR
                )
                continue
            was_converted = getattr(call, f"{conversion}_converted")
            try:
                _, count = unconvert_call(
                    call_uuid=call.call_uuid,
                    conversion=conversion,
                    expected_version=read_at,
                    cause=who,
                )
            except Rejected as exc:
                self.message_user(
                    request, f"{call.call_uuid}: {'; '.join(exc.errors)}", messages.ERROR
                )
                continue
            if was_converted:
                done += 1
                skipped += count
                self.log_change(
                    request,
                    call,
                    f"Un-converted the {conversion} conversion ({reason}); "
                    f"{count} postback(s) not sent yet were skipped",
                )
        self.message_user(
            request,
            f"Un-converted {done} call(s); {skipped} postback(s) not sent yet were skipped. "
            "Postbacks already delivered stay with Ringba.",
            messages.SUCCESS,
        )
        return None

    @admin.action(description="Mark converted…", permissions=["change"])
    def mark_converted(self, request, queryset):
        form = action_form(ConversionForm, request)
        if not form.is_valid():
            return confirmation_page(
                self,
                request,
                "admin/integrations/call/mark_converted.html",
                "Mark calls converted",
                form=form,
                calls=queryset.select_related("offer"),
            )
        kind, amount = form.cleaned_data["kind"], form.cleaned_data["amount"]
        converted, problems = 0, []
        for call in queryset:
            update = (
                CallUpdate(offer_converted=True, payout=amount)
                if kind == "offer"
                else CallUpdate(buyer_converted=True, revenue=amount)
            )
            already = call.offer_converted if kind == "offer" else call.buyer_converted
            try:
                # The version this page showed: a call un-converted (or changed) since
                # is refused, not converted again behind the person's back.
                read_at = int(request.POST.get(f"version_{call.pk}", ""))
            except ValueError:
                problems.append(f"{call.call_uuid}: reopen the confirmation page")
                continue
            try:
                update_call(
                    call_uuid=call.call_uuid,
                    update=update,
                    cause=f"admin: Mark converted ({request.user.get_username()})",
                    expected_version=read_at,
                )
            except Rejected as exc:
                problems.append(f"{call.call_uuid}: {'; '.join(exc.errors)}")
                continue
            if not already:
                converted += 1
                amount_text = "the offer's payout" if amount is None else str(amount)
                self.log_change(request, call, f"Marked {kind}-converted by hand ({amount_text})")
        self.message_user(
            request,
            f"Converted {converted} call(s); calls already converted were left unchanged.",
            messages.SUCCESS,
        )
        for problem in problems:
            self.message_user(request, problem, messages.ERROR)
        return None

    @admin.action(description="End selected calls now", permissions=["change"])
    def end_now(self, request, queryset):
        ended = 0
        for call in queryset.filter(ended_at__isnull=True):
            try:
                update_call(
                    call_uuid=call.call_uuid,
                    update=CallUpdate(ended_at=timezone.now()),
                    cause=f"admin: End now ({request.user.get_username()})",
                )
            except Rejected as exc:
                self.message_user(
                    request, f"Call {call.call_uuid} not ended: {exc}", messages.WARNING
                )
                continue
            self.log_change(request, call, "Ended by hand")
            ended += 1
        self.message_user(request, f"Ended {ended} call(s).", messages.SUCCESS)

"""Test-fire a trigger: render its request for a real or sample call and send it,
marked as a test."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.utils.html import format_html

from ..models import Call, DeliveryStatus
from ..services.firing import plan_test_fire
from .confirm import action_form, confirmation_page
from .links import change_link


class TestFireForm(forms.Form):
    call_uuid = forms.CharField(
        label="Call uuid", max_length=64, help_text="The call to render the trigger for."
    )
    use_real_call_id = forms.BooleanField(
        required=False,
        label="Send the call's real ringba_call_uuid",
        help_text="Off (recommended): ringba_call_uuid is sent as a fake TEST-… id, so "
        "Ringba cannot credit a real call. On: Ringba may record a real conversion.",
    )

    def clean_call_uuid(self):
        value = self.cleaned_data["call_uuid"].strip()
        call = (
            Call.objects.select_related("number", "offer", "traffic_source", "lead")
            .filter(call_uuid=value)
            .first()
        )
        if call is None:
            raise forms.ValidationError("No call with this uuid.")
        self.call = call
        return value


class TestFireAction:
    """The trigger admin's test-fire action and its confirmation page."""

    @admin.action(description="Test fire against a call…", permissions=["change"])
    def test_fire(self, request, queryset):
        form = action_form(TestFireForm, request)
        if not form.is_valid():
            return confirmation_page(
                self,
                request,
                "admin/integrations/eventtrigger/test_fire.html",
                "Test fire triggers",
                form=form,
                triggers=queryset,
            )
        with transaction.atomic():
            deliveries = [
                plan_test_fire(
                    trigger=trigger,
                    call=form.call,
                    use_real_call_id=form.cleaned_data["use_real_call_id"],
                    cause=f"admin: Test fire ({request.user.get_username()})",
                )
                for trigger in queryset
            ]
        for delivery in deliveries:
            self.log_change(request, delivery.trigger, f"Test fire for call {form.call.call_uuid}")
            queued = delivery.status == DeliveryStatus.PENDING
            self.message_user(
                request,
                format_html(
                    "Test of “{}”: {} {} — {} ({})",
                    delivery.trigger.name,
                    delivery.http_method,
                    delivery.url or "(no URL)",
                    "queued; the worker sends it now" if queued else delivery.skip_reason,
                    change_link(delivery, "see the result"),
                ),
                messages.SUCCESS if queued else messages.WARNING,
            )
        return None

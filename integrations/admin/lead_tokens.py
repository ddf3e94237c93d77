"""The lead-token rotation action, shared by offers and Lead-to-Call schedules."""

from django.contrib import admin, messages

from ..services.offers import rotate_lead_token
from .confirm import confirmation_page


class RotateLeadTokenMixin:
    """Adds "Rotate lead token" (with a confirmation page) to a ModelAdmin's actions."""

    @admin.action(
        description="Rotate lead token (invalidates the old token and partner links)",
        permissions=["change"],
    )
    def rotate_lead_tokens(self, request, queryset):
        if request.POST.get("confirm") != "yes":
            return confirmation_page(
                self,
                request,
                "admin/integrations/offer/rotate_confirm.html",
                "Rotate lead tokens?",
                offers=queryset,
            )
        for owner in queryset:
            rotate_lead_token(owner)
            self.log_change(request, owner, "Lead token rotated (old token and links revoked)")
        self.message_user(
            request,
            f"Rotated the lead token of {queryset.count()} {self.model._meta.verbose_name}(s). "
            "Send partners the new posting instructions: the old token and shared links no "
            "longer work.",
            messages.SUCCESS,
        )
        return None

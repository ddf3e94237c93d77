"""API access in one step: a calls-API client, its user, permission and key (issue 14).

Before, a telephony side's credentials took a user, one of 85 permissions and a
DRF token over four pages, and every staff user could read every key. Here an
administrator names the client; the portal makes a user that may only use the
calls API, and a key that is shown once and stored as a hash.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from ..models import ApiClient
from ..services.api_clients import create_client, revoke, rotate_key
from .links import change_link, cut


class ApiClientForm(forms.ModelForm):
    class Meta:
        model = ApiClient
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3, "cols": 60})}


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    form = ApiClientForm
    list_display = [
        "name",
        "description_short",
        "key_hint",
        "state",
        "last_used_at",
        "created_at",
        "created_by",
    ]
    search_fields = ["name", "description", "key_prefix", "public_key"]
    readonly_fields = [
        "user_link",
        "public_key",
        "key_hint",
        "state",
        "created_at",
        "created_by",
        "key_rotated_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["rotate_keys", "revoke_clients"]

    def get_fields(self, request, obj=None):
        return (
            ["name", "description"]
            if obj is None
            else ["name", "description", *self.readonly_fields]
        )

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the client's calls keep naming it

    def save_model(self, request, obj, form, change):
        if change:
            # Only what the form edits: never the key or revocation columns.
            if form.changed_data:
                obj.save(update_fields=form.changed_data)
            return
        issued = create_client(
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            created_by=request.user,
        )
        obj.pk, obj.user_id = issued.client.pk, issued.client.user_id
        request._issued_keys = [issued]

    def response_add(self, request, obj, post_url_continue=None):
        return self._show_keys(request, getattr(request, "_issued_keys", []), created=True)

    @admin.action(description="Rotate the key (the old one stops working)", permissions=["change"])
    def rotate_keys(self, request, queryset):
        issued = []
        for client in queryset.filter(revoked_at__isnull=True):
            rotated = rotate_key(client)
            if rotated is None:  # revoked since the list was read
                continue
            issued.append(rotated)
            self.log_change(request, client, "Key rotated")
        if not issued:
            self.message_user(request, "Revoked clients get no new key.", messages.WARNING)
            return None
        return self._show_keys(request, issued, created=False)

    @admin.action(description="Revoke (refuse its key from now on)", permissions=["change"])
    def revoke_clients(self, request, queryset):
        revoked = 0
        for client in queryset.filter(revoked_at__isnull=True):
            revoke(client)
            self.log_change(request, client, "Revoked")
            revoked += 1
        self.message_user(request, f"Revoked {revoked} client(s).", messages.SUCCESS)

    def _show_keys(self, request, issued, *, created: bool):
        """The one page that shows keys: rendered, never redirected to or stored."""
        response = TemplateResponse(
            request,
            "admin/integrations/apiclient/key_shown.html",
            {
                **self.admin_site.each_context(request),
                "title": "API client created" if created else "New API keys",
                "opts": self.model._meta,
                "issued": issued,
                "calls_url": f"{settings.PUBLIC_BASE_URL}/api/v1/calls",
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    @admin.display(description="description")
    def description_short(self, client):
        return cut(client.description, 60) if client.description else ""

    @admin.display(description="key")
    def key_hint(self, client):
        return client.key_hint

    @admin.display(description="state")
    def state(self, client):
        return f"revoked {client.revoked_at:%Y-%m-%d}" if client.revoked_at else "active"

    @admin.display(description="user")
    def user_link(self, client):
        return change_link(client.user)

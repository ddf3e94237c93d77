"""API access in one step: a calls-API client, its user, permission and key (issue 14).

Before, a telephony side's credentials took a user, one of 85 permissions and a
DRF token over four pages, and every staff user could read every key. Here an
administrator names the client; the portal makes a user that may only use the
calls API, and a key that is shown once and stored as a hash.
"""

import secrets
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from ..infra.secrets_at_rest import decrypt, encrypt
from ..models import ApiClient
from ..services.api_clients import IssuedKey, create_client, revoke, rotate_key
from .confirm import confirmation_page
from .history import ActionLogHistoryAdmin
from .links import change_link, cut

SCOPE_FIELDS = ["may_use_calls", "may_read_stats", "may_work_schedules"]
KEYS_SESSION_PREFIX = "api-keys-to-show-"


# What "Rotate the key…" may keep the old key working for (seconds → words).
KEEP_OLD_KEY_CHOICES = [
    ("0", "no: the old key stops at once"),
    ("3600", "1 hour"),
    ("86400", "1 day"),
    ("604800", "7 days"),
]


def _keep_old_for(value: str) -> timedelta:
    allowed = {seconds for seconds, _ in KEEP_OLD_KEY_CHOICES}
    return timedelta(seconds=int(value)) if value in allowed else timedelta(0)


class ApiClientForm(forms.ModelForm):
    class Meta:
        model = ApiClient
        fields = ["name", "description", *SCOPE_FIELDS]
        widgets = {"description": forms.Textarea(attrs={"rows": 3, "cols": 60})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            # A new key may use nothing until someone says what: least privilege.
            for name in SCOPE_FIELDS:
                self.fields[name].initial = False

    def clean(self):
        data = super().clean()
        if self.instance.pk is None and not any(data.get(name) for name in SCOPE_FIELDS):
            raise forms.ValidationError(
                "Choose what the key may use (the calls API, stats, schedules): a key that "
                "may use nothing is refused everywhere."
            )
        return data


@admin.register(ApiClient)
class ApiClientAdmin(ActionLogHistoryAdmin, admin.ModelAdmin):
    form = ApiClientForm
    list_display = [
        "name",
        "description_short",
        "key_hint",
        "scopes",
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
        "old_key_works_until",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["rotate_keys", "revoke_clients"]

    def get_fields(self, request, obj=None):
        editable = ["name", "description", *SCOPE_FIELDS]
        return editable if obj is None else [*editable, *self.readonly_fields]

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
            scopes={name: form.cleaned_data[name] for name in SCOPE_FIELDS},
        )
        obj.pk, obj.user_id = issued.client.pk, issued.client.user_id
        request._issued_keys = [issued]

    def response_add(self, request, obj, post_url_continue=None):
        return self._show_keys(request, getattr(request, "_issued_keys", []), created=True)

    @admin.action(description="Rotate the key…", permissions=["change"])
    def rotate_keys(self, request, queryset):
        """Like a lead token's: a confirmation page first, then the new keys, once."""
        clients = list(queryset.filter(revoked_at__isnull=True))
        if not clients:
            self.message_user(request, "Revoked clients get no new key.", messages.WARNING)
            return None
        if request.POST.get("confirm") != "yes":
            return self._confirm(request, clients, "rotate")
        return self._rotate(request, clients)

    @admin.action(description="Revoke…", permissions=["change"])
    def revoke_clients(self, request, queryset):
        clients = list(queryset.filter(revoked_at__isnull=True))
        if request.POST.get("confirm") != "yes":
            return self._confirm(request, clients, "revoke")
        self._revoke(request, clients)
        return None

    def _rotate(self, request, clients):
        issued = []
        keep = _keep_old_for(request.POST.get("keep_old_for", "0"))
        for client in clients:
            rotated = rotate_key(client, keep_old_for=keep)
            if rotated is None:  # revoked since the page was read
                continue
            issued.append(rotated)
            until = rotated.client.previous_key_expires_at
            kept = f"; the old key works until {until:%Y-%m-%d %H:%M} UTC" if keep else ""
            self.log_change(request, client, "Key rotated" + kept)
        if not issued:
            self.message_user(request, "Revoked clients get no new key.", messages.WARNING)
            return redirect("admin:integrations_apiclient_changelist")
        return self._show_keys(request, issued, created=False)

    def _revoke(self, request, clients):
        for client in clients:
            revoke(client)
            self.log_change(request, client, "Revoked")
        self.message_user(request, f"Revoked {len(clients)} client(s).", messages.SUCCESS)

    def _confirm(self, request, clients, what: str, *, single: bool = False):
        return confirmation_page(
            self,
            request,
            "admin/integrations/apiclient/confirm.html",
            "Rotate keys?" if what == "rotate" else "Revoke clients?",
            what=what,
            clients=clients,
            single=single,
            action="rotate_keys" if what == "rotate" else "revoke_clients",
            keep_choices=KEEP_OLD_KEY_CHOICES,
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/rotate/",
                self.admin_site.admin_view(self.rotate_one),
                name="integrations_apiclient_rotate",
            ),
            path(
                "<int:pk>/revoke/",
                self.admin_site.admin_view(self.revoke_one),
                name="integrations_apiclient_revoke",
            ),
            path(
                "keys/<str:token>/",
                self.admin_site.admin_view(self.keys_view),
                name="integrations_apiclient_keys",
            ),
            *super().get_urls(),
        ]

    def rotate_one(self, request, pk: int):
        """The client's own page's "Rotate key…" button: confirm, then show the key."""
        client = self._changeable(request, pk)
        if request.method != "POST" or request.POST.get("confirm") != "yes":
            return self._confirm(request, [client], "rotate", single=True)
        return self._rotate(request, [client])

    def revoke_one(self, request, pk: int):
        client = self._changeable(request, pk)
        if request.method != "POST" or request.POST.get("confirm") != "yes":
            return self._confirm(request, [client], "revoke", single=True)
        if client.revoked_at is None:
            self._revoke(request, [client])
        return redirect("admin:integrations_apiclient_change", pk)

    def _changeable(self, request, pk: int) -> ApiClient:
        client = get_object_or_404(ApiClient, pk=pk)
        if not self.has_change_permission(request, client):
            raise PermissionDenied
        return client

    def _show_keys(self, request, issued, *, created: bool):
        """Hand the new keys to the page that shows them, across a redirect.

        The page is a GET after the POST (a refresh must not create or rotate again):
        the keys wait in the session, encrypted (secrets_at_rest), and the first GET
        takes them out; the page can never show them a second time.
        """
        token = secrets.token_urlsafe(16)
        request.session[f"{KEYS_SESSION_PREFIX}{token}"] = {
            "created": created,
            "keys": [[item.client.pk, encrypt(item.key)] for item in issued],
        }
        return redirect("admin:integrations_apiclient_keys", token)

    def keys_view(self, request, token: str):
        """The one page that shows keys, once: GET after the POST that made them."""
        stash = request.session.pop(f"{KEYS_SESSION_PREFIX}{token}", None)
        if stash is None:
            self.message_user(
                request,
                "These keys were shown once and are not kept: rotate a key to get a new one.",
                messages.WARNING,
            )
            return redirect("admin:integrations_apiclient_changelist")
        clients = ApiClient.objects.in_bulk([pk for pk, _ in stash["keys"]])
        issued = [
            IssuedKey(client=clients[pk], key=decrypt(ciphertext))
            for pk, ciphertext in stash["keys"]
            if pk in clients
        ]
        created = stash["created"]
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

    @admin.display(description="previous key works until")
    def old_key_works_until(self, client):
        until = client.previous_key_expires_at
        if until is None or until <= timezone.now() or client.revoked_at:
            return "— (only the current key works)"
        return f"{until:%Y-%m-%d %H:%M} UTC (kept by the last rotation)"

    @admin.display(description="description")
    def description_short(self, client):
        return cut(client.description, 60) if client.description else ""

    @admin.display(description="key")
    def key_hint(self, client):
        return client.key_hint

    @admin.display(description="may use")
    def scopes(self, client):
        return ", ".join(client.scope_names) or "nothing"

    @admin.display(description="state")
    def state(self, client):
        return f"revoked {client.revoked_at:%Y-%m-%d}" if client.revoked_at else "active"

    @admin.display(description="user")
    def user_link(self, client):
        return change_link(client.user)

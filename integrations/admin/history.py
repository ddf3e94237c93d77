"""One change history per configuration object: field changes and admin actions.

django-simple-history records every save of a configuration model (who, when,
old → new). Its history page shows the object's own rows; this adds what an
account manager also needs there: the rows of its inlines (an offer's contact
fields, a number's extra tokens, a trigger's field mappings) and the admin
actions logged against it (rotations, test fires), which Django keeps apart.
"""

from django import forms
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin

RELATED_ROWS_SHOWN = 50


def admin_actions(model, object_id) -> list:
    """The admin actions logged against one object, newest first (a bounded page)."""
    content_type = ContentType.objects.get_for_model(model)
    return list(
        LogEntry.objects.filter(content_type=content_type, object_id=str(object_id))
        .select_related("user")
        .order_by("-action_time")[:RELATED_ROWS_SHOWN]
    )


class ActionLogHistoryAdmin:
    """The history page of a model without field history (calls, API clients, adjustments).

    Its money and credential actions (un-convert, rotate, revoke, adjustments done
    by hand) are admin log entries; the shared history template lists them.
    """

    def history_view(self, request, object_id, extra_context=None):
        context = {"action_log": admin_actions(self.model, object_id), **(extra_context or {})}
        return super().history_view(request, object_id, extra_context=context)


class ConfigHistoryAdmin(SimpleHistoryAdmin):
    object_history_template = "admin/integrations/object_history.html"
    # (title, model with HistoricalRecords, field pointing at this object)
    history_related: tuple[tuple[str, type, str], ...] = ()

    def history_view(self, request, object_id, extra_context=None):
        actions = admin_actions(self.model, object_id)
        related = [
            (title, model.history.filter(**{field: object_id}).select_related("history_user"))
            for title, model, field in self.history_related
        ]
        context = {
            "action_log": actions,
            "related_history": [
                (title, [(record, _changes(record)) for record in records[:RELATED_ROWS_SHOWN]])
                for title, records in related
            ],
            **(extra_context or {}),
        }
        return super().history_view(request, object_id, extra_context=context)

    def render_history_view(self, request, template, context, **kwargs):
        page = context.get("page_obj")  # the list; a past version's page has none
        if page:
            # A save that changed nothing the history tracks (a system write, a field the
            # history leaves out) would read "Changed / None": leave such rows out.
            page.object_list = [record for record in page.object_list if _says_something(record)]
        for record in page.object_list if page else ():
            if record.history_change_reason is None:
                # simple-history prints a missing change reason as "None"; a dash instead.
                record.history_change_reason = "—"
        return super().render_history_view(request, template, context, **kwargs)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # A past version is shown, never saved back: simple-history's form would accept
        # a POST even with SIMPLE_HISTORY_REVERT_DISABLED (it only hides the button).
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


def _says_something(record) -> bool:
    """A creation or deletion, a change with a reason, or one that changed a field."""
    if record.history_type != "~" or record.history_change_reason:
        return True
    changes = getattr(record, "history_delta_changes", None)
    if changes is None:  # the oldest row of the page: simple-history gives it no delta
        return bool(_changes(record)) or record.prev_record is None
    return bool(changes)


def _changes(record) -> list:
    """Field changes of a historical row against the row's previous version."""
    previous = record.prev_record
    return record.diff_against(previous).changes if previous is not None else []


class ChangeReasonForm(forms.ModelForm):
    """A configuration form whose save may say why (kept with the change's history row)."""

    change_reason = forms.CharField(
        label="Reason for this change",
        required=False,
        max_length=100,
        help_text="Optional; shown beside the change in this object's history.",
        widget=forms.TextInput(attrs={"size": 80}),
    )


class ChangeReasonMixin:
    """Add a "Why" section to the change page; its reason goes on the history row."""

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.append(("Why", {"fields": ["change_reason"]}))
        return fieldsets

    def save_model(self, request, obj, form, change):
        reason = (form.cleaned_data.get("change_reason") or "").strip()
        if reason:
            obj._change_reason = reason  # django-simple-history stores it on the row
        super().save_model(request, obj, form, change)

    def construct_change_message(self, request, form, formsets, add=False):
        message = super().construct_change_message(request, form, formsets, add)
        reason = (form.cleaned_data.get("change_reason") or "").strip()
        if reason and isinstance(message, list):
            message.append({"changed": {"fields": [f"reason: {reason}"]}})
        return message

"""Post an admin change form as the browser would: every field and inline as shown."""

from django import forms


def change_form_data(response, **changes) -> dict:
    """The POST data of the change form in ``response``, with ``changes`` applied."""
    data = {}
    _add_form(data, response.context["adminform"].form)
    inlines = response.context.get("inline_admin_formsets", [])
    for inline in inlines:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for form in formset.forms:
            _add_form(data, form)
    data.update(changes)
    return data


def _add_form(data: dict, form) -> None:
    for name, field in form.fields.items():
        value = form[name].value()
        key = form.add_prefix(name)
        if isinstance(field, forms.BooleanField):
            if value:
                data[key] = "on"
        elif isinstance(field, forms.JSONField):
            # BoundField.value() is already the prepared text (as the browser shows it).
            data[key] = value if isinstance(value, str) else field.prepare_value(value)
        elif isinstance(value, list | tuple):
            data[key] = [str(each) for each in value]
        elif value is not None:
            data[key] = str(value)

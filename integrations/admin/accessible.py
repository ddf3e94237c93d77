"""Names for inputs a screen reader would otherwise announce as just "edit text".

Tabular inlines show their labels once, as column headings; each row's inputs have
none of their own. ``LabelledInlineMixin`` gives every inline input (the delete
box included) an aria-label from its field's label and row: "Value, row 2".
"""


class LabelledInlineMixin:
    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)

        class LabelledFormSet(formset):
            def add_fields(self, form, index):
                super().add_fields(form, index)
                row = f", row {index + 1}" if index is not None else ""
                for name, field in form.fields.items():
                    label = str(field.label or name.replace("_", " ").lower())
                    # A foreign key's select sits inside the admin's related-widget wrapper.
                    widget = getattr(field.widget, "widget", field.widget)
                    widget.attrs["aria-label"] = label[:1].upper() + label[1:] + row

        return LabelledFormSet

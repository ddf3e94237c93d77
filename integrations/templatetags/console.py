"""Template tags of the operations console's home page."""

from django import template

from ..admin.checklist import offer_checklist

register = template.Library()


@register.inclusion_tag("admin/integrations/offer_checklist.html")
def offers_at_a_glance():
    return {"rows": offer_checklist()}


@register.simple_tag
def apps_split(app_list, framework: bool = False):
    """The integration's app, or (framework=True) Django's and the libraries' apps."""
    return [app for app in app_list if (app["app_label"] != "integrations") == framework]

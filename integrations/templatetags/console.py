"""Template tags of the operations console's home page."""

from django import template
from django.conf import settings

from ..admin.checklist import offer_checklist
from ..admin.dashboard import build as build_dashboard
from ..outbound.error_summaries import summary_of
from ..services.reconciliation import open_differences
from ..services.trigger_health import alert_recipients, failing_hosts, failing_triggers

register = template.Library()


@register.inclusion_tag("admin/integrations/offer_checklist.html")
def offers_at_a_glance():
    return {"rows": offer_checklist()}


@register.simple_tag
def apps_split(app_list, framework: bool = False):
    """The integration's app, or (framework=True) Django's and the libraries' apps."""
    return [app for app in app_list if (app["app_label"] != "integrations") == framework]


@register.inclusion_tag("admin/integrations/health_banner.html", takes_context=True)
def trigger_health_banner(context):
    """Failing or paused triggers, on every admin page of a user who may see them."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("integrations.view_eventtrigger"):
        return {"triggers": [], "hosts": [], "differences": 0}
    differences = open_differences()
    triggers = list(failing_triggers()[:5])
    # The banner leaves out hosts someone acknowledged (the dashboard still lists them).
    hosts = [host for host in failing_hosts()[:5] if host.acknowledged_at is None]
    # One line per problem: a host a failing trigger's error already names is said there.
    for trigger in triggers:
        trigger.failing_hosts = [host for host in hosts if host.host in trigger.last_error]
    named = {host.host for trigger in triggers for host in trigger.failing_hosts}
    return {
        "triggers": triggers,
        "hosts": [host for host in hosts if host.host not in named],
        "nobody_told": bool(triggers or hosts) and not alert_recipients(),
        "csrf_token": context.get("csrf_token"),
        "request": request,
        # Past the threshold only: a few open differences are a normal month.
        "differences": differences if differences >= settings.RECONCILE_ALERT_THRESHOLD else 0,
    }


@register.inclusion_tag("admin/integrations/dashboard.html", takes_context=True)
def dashboard(context):
    """The period's figures and charts, for users who may see calls."""
    request = context["request"]
    if not request.user.has_perm("integrations.view_call"):
        return {"dashboard": None}
    return {"dashboard": build_dashboard(request.GET)}


@register.filter
def error_summary(error: str) -> str:
    """The human summary of a stored error (``error_summaries``), for banners and lists."""
    return summary_of(error or "")

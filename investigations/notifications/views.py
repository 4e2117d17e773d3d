"""Admin pages of the notifications: rules (create, edit, test) and the delivery log."""

from django.contrib import messages
from django.db.models import Count, Max, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from airportal.errors import DomainError
from airportal.htmx import render_page
from airportal.keyset import SortKey, keyset_page
from airportal.roles import Capability, capability_required
from investigations.models import NotificationDelivery, NotificationRule
from investigations.notifications.forms import NotificationRuleForm
from investigations.notifications.services import (
    notification_rule_create,
    notification_rule_test,
    notification_rule_update,
)
from investigations.notifications.webhook import url_masked

LOG_PAGE_SIZE = 50


@require_GET
@capability_required(Capability.ADMINISTER)
def notification_rule_list(request):
    rules = NotificationRule.objects.annotate(
        sent=Count("deliveries", filter=Q(deliveries__status=NotificationDelivery.Status.SENT)),
        failed=Count("deliveries", filter=Q(deliveries__status=NotificationDelivery.Status.FAILED)),
        last_delivery_at=Max("deliveries__created_at"),
    ).order_by("name")
    rows = [{"rule": rule, "destination": _destination(rule)} for rule in rules]
    return render(request, "investigations/notification_rule_list.html", {"rows": rows})


def _destination(rule: NotificationRule) -> str:
    if rule.channel == NotificationRule.Channel.EMAIL:
        return ", ".join(rule.recipients)
    return url_masked(rule.url) if rule.url else ""


def _form_page(request, form, rule=None, status=200):
    context = {"form": form, "rule": rule}
    return render(request, "investigations/notification_rule_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@capability_required(Capability.ADMINISTER)
def notification_rule_create_view(request):
    if request.method == "GET":
        return _form_page(request, NotificationRuleForm())
    form = NotificationRuleForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form, status=400)
    try:
        rule = notification_rule_create(actor=request.user, **form.changes())
    except DomainError as error:
        form.add_error(None, error.message)
        return _form_page(request, form, status=error.status_code)
    messages.success(request, f"Rule {rule.name!r} created.")
    return redirect("investigations:notification_rule_list")


@require_http_methods(["GET", "POST"])
@capability_required(Capability.ADMINISTER)
def notification_rule_edit(request, rule_id: int):
    rule = get_object_or_404(NotificationRule, pk=rule_id)
    if request.method == "GET":
        form = NotificationRuleForm(initial=NotificationRuleForm.initial_for(rule), rule=rule)
        return _form_page(request, form, rule)
    form = NotificationRuleForm(request.POST, rule=rule)
    if not form.is_valid():
        return _form_page(request, form, rule, status=400)
    try:
        notification_rule_update(rule=rule, actor=request.user, **form.changes())
    except DomainError as error:
        rule.refresh_from_db()
        form.add_error(None, error.message)
        return _form_page(request, form, rule, status=error.status_code)
    messages.success(request, f"Rule {rule.name!r} saved.")
    return redirect("investigations:notification_rule_list")


@require_POST
@capability_required(Capability.ADMINISTER)
def notification_rule_test_view(request, rule_id: int):
    rule = get_object_or_404(NotificationRule, pk=rule_id)
    delivery = notification_rule_test(rule=rule, actor=request.user)
    messages.info(request, f"Test message queued through {rule.name!r}; its result is in the log.")
    log = reverse("investigations:notification_delivery_list")
    return redirect(f"{log}?rule={rule.pk}#delivery-{delivery.pk}")


@require_GET
@capability_required(Capability.ADMINISTER)
def notification_delivery_list(request):
    """The delivery log, newest first, by rule and status."""
    deliveries = NotificationDelivery.objects.select_related("rule")
    rule_id, status = request.GET.get("rule", ""), request.GET.get("status", "")
    if rule_id.isdigit():
        deliveries = deliveries.filter(rule_id=int(rule_id))
    if status in NotificationDelivery.Status.values:
        deliveries = deliveries.filter(status=status)
    page = keyset_page(deliveries, keys=[SortKey("id")], cursor=request.GET.get("cursor"), limit=LOG_PAGE_SIZE)
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "page": page,
        "rules": NotificationRule.objects.order_by("name").values_list("pk", "name"),
        "statuses": NotificationDelivery.Status.choices,
        "selected_rule": rule_id,
        "selected_status": status,
        "query": query.urlencode(),
    }
    return render_page(request, "investigations/notification_delivery_list.html", context, partial="delivery-table")

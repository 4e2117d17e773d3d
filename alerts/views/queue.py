"""The alert queue and the alert page: filters, keyset pages, a live count, bulk and single triage.

Each view reads through ``alerts.selectors.alerts``, writes through the triage services and
answers htmx with a named partial of its page template.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from airportal.errors import DomainError
from airportal.htmx import domain_error_response, render_page, toast, trigger, wants_partial
from airportal.roles import Capability, capability_required
from airportal.services import portal_settings_get
from airportal.shortcuts import form_errors_text, get_or_404
from alerts.console_hooks import hooks
from alerts.forms.queue import AlertQueueFilterForm, BulkTriageForm
from alerts.models import Alert
from alerts.selectors.alerts import (
    alert_count,
    alert_events,
    alert_get,
    alert_latest_id,
    alert_new_counts,
    alert_page,
    triage_assignees,
)
from alerts.services import alert_bulk_assign, alert_bulk_set_status

PAGE_SIZE = 50


def _queue_context(request) -> dict:
    form = AlertQueueFilterForm(request.GET or None)
    filters = form.filters()
    page = alert_page(filters=filters, cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
    investigations = hooks.alert_investigations([alert.id for alert in page])
    for alert in page:
        alert.investigation = investigations.get(alert.id)
    return {
        "form": form,
        "filters": filters,
        "page": page,
        "total": alert_count(filters=filters),
        "sla_minutes": portal_settings_get().alert_sla_minutes,
        "assignees": triage_assignees(),
        "classifications": [c for c in Alert.Classification.choices if c[0]],
        "latest_id": alert_latest_id(),
        "is_first_page": not request.GET.get("cursor"),
    }


@require_GET
@capability_required(Capability.VIEW)
def alert_list(request):
    """The alert queue: filters, sort, keyset pages, bulk triage and a live count of new alerts."""
    context = _queue_context(request)
    context["new_counts"] = alert_new_counts(after_id=context["latest_id"])
    return render_page(request, "alerts/alert_list.html", context, partial="results")


@require_GET
@capability_required(Capability.VIEW)
def alert_new_count(request):
    """The live counter polled by the open queue page: new alerts, and those arrived since loading."""
    after = request.GET.get("after", "")
    after_id = int(after) if after.isdigit() and int(after) < 2**63 else 0
    context = {"new_counts": alert_new_counts(after_id=after_id), "latest_id": after_id}
    return render(request, "alerts/alert_list.html#new-count", context)


def _refused(request, message: str):
    if wants_partial(request):
        return domain_error_response(DomainError(message))
    messages.error(request, message)
    return redirect(_next_url(request))


def _next_url(request) -> str:
    url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return url
    return reverse("alerts:alert_list")


TRIAGE_STATUS = {
    "resolve": Alert.Status.RESOLVED,
    "dismiss": Alert.Status.DISMISSED,
    "reopen": Alert.Status.IN_PROGRESS,
}


@require_POST
@capability_required(Capability.TRIAGE)
def alert_triage(request):
    """Assign, resolve, dismiss or reopen the selected alerts (one or many) through the triage services.

    htmx gets an empty answer with ``alertsTriaged`` (the queue and the alert card reload
    themselves) and a toast; alerts that could not move are named in it, the others are kept.
    """
    form = BulkTriageForm(request.POST)
    if not form.is_valid():
        return _refused(request, form_errors_text(form))
    ids = [alert.id for alert in form.cleaned_data["alert"]]
    operation = form.cleaned_data["operation"]
    if operation == "assign":
        assignee_id = form.cleaned_data["assignee"] or request.user.pk
        assignee = get_user_model().objects.filter(pk=assignee_id, is_active=True).first()
        if assignee is None:
            return _refused(request, "There is no such user to assign to.")
        result = alert_bulk_assign(alert_ids=ids, assignee=assignee, actor=request.user)
        done = f"assigned to {assignee.get_username()}"
    else:
        result = alert_bulk_set_status(
            alert_ids=ids,
            status=TRIAGE_STATUS[operation],
            actor=request.user,
            classification=form.cleaned_data["classification"] if operation != "reopen" else "",
            comment=form.cleaned_data["comment"],
        )
        done = {"resolve": "resolved", "dismiss": "dismissed", "reopen": "reopened"}[operation]
    summary = f"{len(result.changed)} alert{pluralize(len(result.changed))} {done}."
    if result.skipped:
        reasons = sorted(set(result.skipped.values()))
        summary += f" {len(result.skipped)} unchanged: " + " ".join(reasons)
    level = "success" if not result.skipped else ("warning" if result.changed else "error")
    if not wants_partial(request):
        messages.add_message(request, messages.SUCCESS if level == "success" else messages.WARNING, summary)
        return redirect(_next_url(request))
    response = trigger(HttpResponse(), {"alertsTriaged": {"ids": result.changed}})
    return toast(response, summary, level=level)


@require_GET
@capability_required(Capability.VIEW)
def alert_detail(request, alert_id: int):
    alert = get_or_404(alert_get, alert_id=alert_id)
    alert.investigation = hooks.alert_investigations([alert.id]).get(alert.id)
    events = alert_events(alert=alert)
    context = {
        "alert": alert,
        "events": events,
        "evidence_ids": {event.id for event in events},
        "sla_minutes": portal_settings_get().alert_sla_minutes,
        "assignees": triage_assignees(),
        "classifications": [c for c in Alert.Classification.choices if c[0]],
    }
    return render_page(request, "alerts/alert_detail.html", context, partial="triage")

"""The investigation list and page: tabs, live progress, summary, start and stop, the step log."""

from datetime import timedelta

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from airportal.errors import DomainError
from airportal.exports import Column, csv_response
from airportal.htmx import domain_error_response, render_page, toast, trigger, wants_partial
from airportal.roles import Capability, capability_required, has_capability
from airportal.services import portal_settings_get
from airportal.shortcuts import form_errors_text, get_or_404
from alerts.selectors import timeline
from investigations.forms.investigations import InvestigationFilterForm, StartInvestigationForm, TerminateForm
from investigations.models import Investigation
from investigations.selectors.actions import investigation_actions
from investigations.selectors.investigations import (
    investigation_alerts,
    investigation_findings,
    investigation_get,
    investigation_last_step,
    investigation_page,
    investigation_related_identities,
    investigation_steps,
)
from investigations.selectors.live_state import investigation_current_state
from investigations.services.investigations import investigation_start, investigation_terminate

PAGE_SIZE = 50
TABS = [
    ("findings", "Findings"),
    ("alerts", "Alerts"),
    ("timeline", "Timeline"),
    ("actions", "Actions"),
    ("state", "Current state"),
    ("log", "Log"),
]
RUNNING = (Investigation.Status.QUEUED, Investigation.Status.RUNNING)


@require_GET
@capability_required(Capability.VIEW)
def investigation_list(request):
    form = InvestigationFilterForm(request.GET or None)
    page = investigation_page(filters=form.filters(), cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
    context = {"form": form, "page": page, "is_first_page": not request.GET.get("cursor")}
    return render_page(request, "investigations/investigation_list.html", context, partial="results")


def _investigation(investigation_id: int) -> Investigation:
    return get_or_404(investigation_get, investigation_id=investigation_id)


def _tab_context(request, investigation: Investigation, tab: str) -> dict:
    if tab == "alerts":
        return {"alerts": investigation_alerts(investigation=investigation)}
    if tab == "findings":
        return {"findings": investigation_findings(investigation=investigation)}
    if tab == "actions":
        return {
            "actions": investigation_actions(investigation=investigation),
            "sla_minutes": portal_settings_get().action_sla_minutes,
        }
    if tab == "log":
        return {"steps": investigation_steps(investigation=investigation)}
    if tab == "state":
        return {"current": investigation_current_state(investigation=investigation)}
    # The timeline tab: the identity's events from the start of the window the playbook read
    # until now, so the remediation that followed shows too.
    start = investigation.window_start or investigation.created_at
    end = timezone.now() + timedelta(seconds=1)
    page = timeline.event_page(
        identity=investigation.identity, start=start, end=end, cursor=request.GET.get("cursor"), limit=100
    )
    return {
        "page": page,
        "evidence_ids": timeline.evidence_event_ids([event.id for event in page]),
        "window": (start, end),
    }


@require_GET
@capability_required(Capability.VIEW)
def investigation_detail(request, investigation_id: int):
    """Summary with live progress, and the tabs; ``?tab=`` picks one (htmx swaps only the tab)."""
    investigation = _investigation(investigation_id)
    default_tab = "actions" if investigation.pending_count else "findings"
    tab = request.GET.get("tab") if request.GET.get("tab") in dict(TABS) else default_tab
    if wants_partial(request) and request.htmx.target == "investigation-tabs":  # refreshed counts
        context = {"investigation": investigation, "tab": tab, "tabs": TABS}
        return render(request, "investigations/investigation_detail.html#tabs", context)
    context = {
        "investigation": investigation,
        "tab": tab,
        "tabs": TABS,
        "last_step": investigation_last_step(investigation=investigation),
        "can_export": has_capability(request.user, Capability.READ_REPORTS),
        "can_triage": has_capability(request.user, Capability.TRIAGE),
        **_tab_context(request, investigation, tab),
    }
    if wants_partial(request):
        if request.htmx.target == "timeline-more":
            return render(request, "investigations/investigation_detail.html#timeline-rows", context)
    else:
        context["related"] = investigation_related_identities(investigation=investigation)
    return render_page(request, "investigations/investigation_detail.html", context, partial="tab")


@require_POST
@capability_required(Capability.TRIAGE)
def investigation_start_view(request):
    """Start the playbook by hand on a user (the button on the user's timeline); go to the investigation."""
    form = StartInvestigationForm(request.POST)
    if not form.is_valid():
        return domain_error_response(DomainError(form_errors_text(form)))
    try:
        investigation, created = investigation_start(
            upn=form.cleaned_data["user"], user=request.user, reason=form.cleaned_data["reason"]
        )
    except DomainError as error:
        return domain_error_response(error)
    url = reverse("investigations:investigation_detail", args=[investigation.id])
    if not wants_partial(request):
        return redirect(url)
    response = HttpResponseClientRedirect(url)
    return trigger(response, {"investigationStarted": {"id": investigation.id, "created": created}})


@require_POST
@capability_required(Capability.TRIAGE)
def investigation_terminate_view(request, investigation_id: int):
    form = TerminateForm(request.POST)
    if not form.is_valid():
        return domain_error_response(DomainError(form_errors_text(form)))
    try:
        investigation_terminate(
            investigation_id=investigation_id, user=request.user, reason=form.cleaned_data["reason"]
        )
    except DomainError as error:
        return domain_error_response(error)
    investigation = _investigation(investigation_id)
    context = {
        "investigation": investigation,
        "last_step": investigation_last_step(investigation=investigation),
    }
    response = render(request, "investigations/investigation_detail.html#summary", context)
    response = trigger(response, {"investigationUpdated": {"id": investigation.id, "status": investigation.status}})
    return toast(response, "Investigation terminated; pending actions withdrawn.")


@require_GET
@capability_required(Capability.VIEW)
def investigation_summary(request, investigation_id: int):
    """The summary card (refreshed when an action or the playbook changes it)."""
    investigation = _investigation(investigation_id)
    context = {
        "investigation": investigation,
        "last_step": investigation_last_step(investigation=investigation),
    }
    return render(request, "investigations/investigation_detail.html#summary", context)


@require_GET
@capability_required(Capability.VIEW)
def investigation_progress(request, investigation_id: int):
    """Polled every 2 s while the playbook runs; 286 (stop polling) and a refresh event once it is done."""
    investigation = _investigation(investigation_id)
    context = {
        "investigation": investigation,
        "last_step": investigation_last_step(investigation=investigation),
    }
    if investigation.status in RUNNING:
        return render(request, "investigations/investigation_detail.html#progress", context)
    response = render(request, "investigations/investigation_detail.html#progress", context)
    response.status_code = HttpResponseStopPolling.status_code
    return trigger(response, {"investigationUpdated": {"id": investigation.id, "status": investigation.status}})


@require_GET
@capability_required(Capability.READ_REPORTS)
def investigation_log_csv(request, investigation_id: int):
    investigation = _investigation(investigation_id)
    columns = [
        Column("at", lambda step: step.at),
        Column("level", lambda s: s.level),
        Column("message", lambda s: s.message),
    ]
    return csv_response(
        filename=f"investigation-{investigation.id}-log.csv",
        rows=investigation_steps(investigation=investigation).iterator(),
        columns=columns,
    )

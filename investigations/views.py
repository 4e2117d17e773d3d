"""Investigation pages and the action center.

Function-based views: reads through ``investigations.console``, writes through the services
in ``investigations.services``; htmx requests get a named partial of the page's template.
Live parts poll only while something is running and stop with HTTP 286.
"""

from datetime import timedelta

from django.http import Http404
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
from alerts.selectors import timeline
from investigations import console
from investigations.forms import (
    ActionHistoryFilterForm,
    BulkApproveForm,
    DecisionForm,
    InvestigationFilterForm,
    RejectForm,
    StartInvestigationForm,
    TerminateForm,
)
from investigations.models import Action, Investigation
from investigations.selectors import investigation_related_identities
from investigations.services.actions import action_approve, action_reject, action_undo
from investigations.services.investigations import investigation_start, investigation_terminate

PAGE_SIZE = 50
TABS = [
    ("findings", "Findings"),
    ("alerts", "Alerts"),
    ("timeline", "Timeline"),
    ("actions", "Actions"),
    ("log", "Log"),
]
RUNNING = (Investigation.Status.QUEUED, Investigation.Status.RUNNING)
ROW_LAYOUTS = ("investigation", "pending", "history")


# --- Investigations -----------------------------------------------------------------------------


@require_GET
@capability_required(Capability.VIEW)
def investigation_list(request):
    form = InvestigationFilterForm(request.GET or None)
    page = console.investigation_list(filters=form.filters(), cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
    context = {"form": form, "page": page, "is_first_page": not request.GET.get("cursor")}
    return render_page(request, "investigations/investigation_list.html", context, partial="results")


def _investigation(investigation_id: int) -> Investigation:
    try:
        return console.investigation_get(investigation_id=investigation_id)
    except Investigation.DoesNotExist:
        raise Http404("No such investigation.")


def _tab_context(request, investigation: Investigation, tab: str) -> dict:
    if tab == "alerts":
        return {"alerts": console.investigation_alerts(investigation=investigation)}
    if tab == "findings":
        return {"findings": console.investigation_findings(investigation=investigation)}
    if tab == "actions":
        return {
            "actions": console.investigation_actions(investigation=investigation),
            "sla_minutes": portal_settings_get().action_sla_minutes,
        }
    if tab == "log":
        return {"steps": console.investigation_steps(investigation=investigation)}
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
        "last_step": console.investigation_last_step(investigation=investigation),
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
        return domain_error_response(DomainError(_errors(form)))
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
        return domain_error_response(DomainError(_errors(form)))
    try:
        investigation_terminate(
            investigation_id=investigation_id, user=request.user, reason=form.cleaned_data["reason"]
        )
    except DomainError as error:
        return domain_error_response(error)
    investigation = _investigation(investigation_id)
    context = {
        "investigation": investigation,
        "last_step": console.investigation_last_step(investigation=investigation),
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
        "last_step": console.investigation_last_step(investigation=investigation),
    }
    return render(request, "investigations/investigation_detail.html#summary", context)


@require_GET
@capability_required(Capability.VIEW)
def investigation_progress(request, investigation_id: int):
    """Polled every 2 s while the playbook runs; 286 (stop polling) and a refresh event once it is done."""
    investigation = _investigation(investigation_id)
    context = {
        "investigation": investigation,
        "last_step": console.investigation_last_step(investigation=investigation),
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
        rows=console.investigation_steps(investigation=investigation).iterator(),
        columns=columns,
    )


# --- Action center ------------------------------------------------------------------------------


@require_GET
@capability_required(Capability.VIEW)
def action_center(request):
    """Pending approvals (oldest first, with SLA) and the decided history (filters, CSV)."""
    tab = "history" if request.GET.get("tab") == "history" else "pending"
    context = {
        "tab": tab,
        "sla_minutes": portal_settings_get().action_sla_minutes,
        "pending_count": console.actions_pending_count(),
        "can_export": has_capability(request.user, Capability.MANAGE_REPORTS),
        "can_triage": has_capability(request.user, Capability.TRIAGE),
    }
    if tab == "pending":
        kind = request.GET.get("kind", "") if request.GET.get("kind") in Action.Kind.values else ""
        page = console.actions_pending(kind=kind, cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
        context.update(kind=kind, page=page)
        if wants_partial(request) and request.htmx.target == "pending-more":
            return render(request, "investigations/action_center.html#pending-rows", context)
        context["kinds"] = console.actions_pending_kinds()
    else:
        form = ActionHistoryFilterForm(request.GET or None)
        page = console.actions_history(filters=form.filters(), cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
        context.update(form=form, page=page, is_first_page=not request.GET.get("cursor"))
    return render_page(request, "investigations/action_center.html", context, partial="panel")


@require_GET
@capability_required(Capability.VIEW)
def action_counts(request):
    """The pending counter in the action center's tab, refreshed by action events."""
    return render(
        request, "investigations/action_center.html#pending-count", {"pending_count": console.actions_pending_count()}
    )


HISTORY_COLUMNS = [
    Column("id", lambda a: a.id),
    Column("kind", lambda a: a.kind),
    Column("target", lambda a: a.target),
    Column("user", lambda a: a.identity.upn),
    Column("investigation", lambda a: a.investigation_id),
    Column("status", lambda a: a.status),
    Column("proposed_at", lambda a: a.created_at),
    Column("approved_by", lambda a: a.approved_by.username if a.approved_by else ""),
    Column("approved_at", lambda a: a.approved_at),
    Column("second_approved_by", lambda a: a.second_approved_by.username if a.second_approved_by else ""),
    Column("second_approved_at", lambda a: a.second_approved_at),
    Column("rejected_by", lambda a: a.rejected_by.username if a.rejected_by else ""),
    Column("rejected_at", lambda a: a.rejected_at),
    Column("comment", lambda a: a.decision_comment),
    Column("automated", lambda a: a.automated),
    Column("connector", lambda a: a.connector),
    Column("result", lambda a: (a.result or {}).get("detail", "")),
    Column("error", lambda a: a.error),
    Column("finished_at", lambda a: a.finished_at),
]


@require_GET
@capability_required(Capability.MANAGE_REPORTS)
def action_history_csv(request):
    form = ActionHistoryFilterForm(request.GET or None)
    rows = console.actions_history_export(filters=form.filters())
    return csv_response(filename="action-history.csv", rows=rows, columns=HISTORY_COLUMNS)


def _row(request, action_id: int, layout: str) -> tuple:
    """(the action, its row rendered in ``layout``)."""
    try:
        action = console.action_get(action_id=action_id)
    except Action.DoesNotExist:
        raise Http404("No such action.")
    context = {
        "action": action,
        "layout": layout if layout in ROW_LAYOUTS else "investigation",
        "sla_minutes": portal_settings_get().action_sla_minutes,
        "can_triage": has_capability(request.user, Capability.TRIAGE),
    }
    return action, render(request, "investigations/action_row.html", context)


@require_GET
@capability_required(Capability.VIEW)
def action_row(request, action_id: int):
    """One action's row, polled while it is approved or running; 286 once it is decided for good."""
    action, response = _row(request, action_id, request.GET.get("layout", ""))
    if action.status in console.ACTIVE_ACTION_STATUSES:
        return response
    response.status_code = HttpResponseStopPolling.status_code
    return trigger(response, {"actionFinished": {"id": action.id, "status": action.status}})


def _errors(form) -> str:
    return " ".join(error for errors in form.errors.values() for error in errors)


def _decide(request, action_id: int, decide, *, form_class, event: str, done: str):
    form = form_class(request.POST)
    if not form.is_valid():
        return domain_error_response(DomainError(_errors(form)))
    try:
        action = decide(action_id=action_id, user=request.user, comment=form.cleaned_data["comment"])
    except DomainError as error:
        return domain_error_response(error)
    _, response = _row(request, action_id, request.POST.get("layout", ""))
    if action.id != action_id:  # an undo is an action of its own: its row follows the original's
        _, undo_row = _row(request, action.id, request.POST.get("layout", ""))
        response.content += undo_row.content
    response = trigger(response, {event: {"id": action.id, "status": action.status}})
    return toast(response, done)


@require_POST
@capability_required(Capability.TRIAGE)
def action_approve_view(request, action_id: int):
    return _decide(
        request, action_id, action_approve, form_class=DecisionForm, event="actionApproved", done="Approved."
    )


@require_POST
@capability_required(Capability.TRIAGE)
def action_reject_view(request, action_id: int):
    return _decide(request, action_id, action_reject, form_class=RejectForm, event="actionRejected", done="Rejected.")


@require_POST
@capability_required(Capability.TRIAGE)
def action_undo_view(request, action_id: int):
    return _decide(
        request, action_id, action_undo, form_class=DecisionForm, event="actionUndone", done="Undo requested."
    )


@require_POST
@capability_required(Capability.TRIAGE)
def actions_bulk_approve(request):
    """Approve several pending actions of one kind; each goes through the same service as one click."""
    form = BulkApproveForm(request.POST)
    if not form.is_valid():
        return domain_error_response(DomainError(_errors(form)))
    approved, refused = [], []
    for action in form.cleaned_data["action"]:
        try:
            approved.append(
                action_approve(action_id=action.id, user=request.user, comment=form.cleaned_data["comment"])
            )
        except DomainError as error:
            refused.append(f"#{action.id}: {error.message}")
    kind = form.cleaned_data["action"][0].kind
    context = {
        "tab": "pending",
        "sla_minutes": portal_settings_get().action_sla_minutes,
        "pending_count": console.actions_pending_count(),
        "kind": kind,
        "page": console.actions_pending(kind=kind, limit=PAGE_SIZE),
        "kinds": console.actions_pending_kinds(),
        "can_triage": True,  # this view requires it
    }
    response = render(request, "investigations/action_center.html#panel", context)
    response = trigger(response, {"actionApproved": {"ids": [action.id for action in approved]}})
    if refused:
        return toast(response, f"{len(approved)} approved; refused: " + "; ".join(refused), level="warning")
    return toast(response, f"{len(approved)} action{'s' if len(approved) != 1 else ''} approved.")

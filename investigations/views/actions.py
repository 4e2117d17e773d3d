"""The action center: pending approvals with their SLA, the decided history and its CSV, decisions."""

from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from airportal.errors import DomainError
from airportal.exports import Column, csv_response
from airportal.htmx import domain_error_response, render_page, toast, trigger, wants_partial
from airportal.roles import Capability, capability_required, has_capability
from airportal.services import portal_settings_get
from airportal.shortcuts import form_errors_text, get_or_404
from investigations.forms.actions import ActionHistoryFilterForm, BulkApproveForm, DecisionForm, RejectForm
from investigations.models import Action
from investigations.selectors.actions import (
    action_get,
    actions_history,
    actions_history_export,
    actions_pending,
    actions_pending_count,
    actions_pending_kinds,
)
from investigations.services.actions import action_approve, action_reject, action_undo

PAGE_SIZE = 50
ROW_LAYOUTS = ("investigation", "pending", "history")
ACTIVE_STATUSES = (Action.Status.APPROVED, Action.Status.RUNNING)  # a row polls while its action is in one


@require_GET
@capability_required(Capability.VIEW)
def action_center(request):
    """Pending approvals (oldest first, with SLA) and the decided history (filters, CSV)."""
    tab = "history" if request.GET.get("tab") == "history" else "pending"
    context = {
        "tab": tab,
        "sla_minutes": portal_settings_get().action_sla_minutes,
        "pending_count": actions_pending_count(),
        "can_export": has_capability(request.user, Capability.MANAGE_REPORTS),
        "can_triage": has_capability(request.user, Capability.TRIAGE),
    }
    if tab == "pending":
        kind = request.GET.get("kind", "") if request.GET.get("kind") in Action.Kind.values else ""
        page = actions_pending(kind=kind, cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
        context.update(kind=kind, page=page)
        if wants_partial(request) and request.htmx.target == "pending-more":
            return render(request, "investigations/action_center.html#pending-rows", context)
        context["kinds"] = actions_pending_kinds()
    else:
        form = ActionHistoryFilterForm(request.GET or None)
        page = actions_history(filters=form.filters(), cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
        context.update(form=form, page=page, is_first_page=not request.GET.get("cursor"))
    return render_page(request, "investigations/action_center.html", context, partial="panel")


@require_GET
@capability_required(Capability.VIEW)
def action_counts(request):
    """The pending counter in the action center's tab, refreshed by action events."""
    return render(
        request, "investigations/action_center.html#pending-count", {"pending_count": actions_pending_count()}
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
    rows = actions_history_export(filters=form.filters())
    return csv_response(filename="action-history.csv", rows=rows, columns=HISTORY_COLUMNS)


def _row(request, action_id: int, layout: str) -> tuple:
    """(the action, its row rendered in ``layout``)."""
    action = get_or_404(action_get, action_id=action_id)
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
    if action.status in ACTIVE_STATUSES:
        return response
    response.status_code = HttpResponseStopPolling.status_code
    return trigger(response, {"actionFinished": {"id": action.id, "status": action.status}})


def _decide(request, action_id: int, decide, *, form_class, event: str, done: str):
    form = form_class(request.POST)
    if not form.is_valid():
        return domain_error_response(DomainError(form_errors_text(form)))
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
        return domain_error_response(DomainError(form_errors_text(form)))
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
        "pending_count": actions_pending_count(),
        "kind": kind,
        "page": actions_pending(kind=kind, limit=PAGE_SIZE),
        "kinds": actions_pending_kinds(),
        "can_triage": True,  # this view requires it
    }
    response = render(request, "investigations/action_center.html#panel", context)
    response = trigger(response, {"actionApproved": {"ids": [action.id for action in approved]}})
    if refused:
        return toast(response, f"{len(approved)} approved; refused: " + "; ".join(refused), level="warning")
    return toast(response, f"{len(approved)} action{'s' if len(approved) != 1 else ''} approved.")

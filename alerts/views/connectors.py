"""The Connectors page (admin only): the Microsoft 365 app registration, feeds, test and pull."""

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from airportal.dispatch import task_send_on_commit
from airportal.errors import DomainError
from airportal.roles import Capability, capability_required
from airportal.services import portal_settings_get
from alerts.feeds.checkpoints import feed_states
from alerts.forms.connectors import ConnectorSettingsForm
from alerts.selectors.connectors import connection_with_editor
from m365.check import m365_check
from m365.config import connection_get, environment_values, is_configured, remediation_connector_name
from m365.connection import m365_connection_update
from m365.models import M365Connection
from m365.permissions import REQUIREMENTS

TEMPLATE = "alerts/connector_settings.html"
HTMX_STOP_POLLING = 286
POLL_FOR = timedelta(minutes=10)


def _context(*, form, check_items=None, connection: M365Connection | None = None) -> dict:
    connection = connection or connection_with_editor()
    return {
        "form": form,
        "connection": connection,
        "environment": environment_values(),
        "configured": is_configured(connection=connection),
        "remediation_connector": remediation_connector_name(connection=connection),
        "streams": feed_states(),
        "poll_since": connection.cycle_started_at.isoformat() if connection.cycle_started_at else None,
        "check_items": check_items,
        "requirements": REQUIREMENTS,
    }


@capability_required(Capability.ADMINISTER)
@require_http_methods(["GET", "POST"])
def connector_settings(request):
    environment = environment_values()
    if request.method == "GET":
        connection = connection_with_editor()
        initial = {
            "tenant_id": environment.get("M365_TENANT_ID", connection.tenant_id),
            "client_id": environment.get("M365_CLIENT_ID", connection.client_id),
            "feeds": connection.feeds,
            "accepted_domains": "\n".join(portal_settings_get().accepted_domains),
        }
        form = ConnectorSettingsForm(initial=initial, environment=environment)
        return render(request, TEMPLATE, _context(form=form, connection=connection))
    form = ConnectorSettingsForm(request.POST, request.FILES, environment=environment)
    if form.is_valid():
        data = form.cleaned_data
        try:
            m365_connection_update(
                actor=request.user,
                tenant_id=None if form.fields["tenant_id"].disabled else data["tenant_id"],
                client_id=None if form.fields["client_id"].disabled else data["client_id"],
                feeds=data["feeds"],
                accepted_domains=data["accepted_domains"],
                client_secret=data.get("client_secret") or "",
                certificate_pem=data.get("certificate") or "",
                remove_credential=bool(data.get("remove_credential")),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Connector settings saved.")
            return redirect("alerts:connector_settings")
    return render(request, TEMPLATE, _context(form=form), status=400)


@capability_required(Capability.ADMINISTER)
@require_POST
def connector_test(request):
    """Test connection: the check results (a fragment for htmx, else the whole page)."""
    items = m365_check()
    if request.htmx:
        return render(request, f"{TEMPLATE}#check-results", {"check_items": items})
    form = ConnectorSettingsForm(initial={"feeds": connection_get().feeds}, environment=environment_values())
    return render(request, TEMPLATE, _context(form=form, check_items=items))


@capability_required(Capability.ADMINISTER)
@require_POST
def connector_pull(request):
    """Queue one pull cycle now (the beat task's code)."""
    since = timezone.now()  # before queueing: an eager or instant worker may finish before we render
    task_send_on_commit("alerts.m365_pull")
    text = "A pull cycle is queued; the table below updates when it has run."
    if request.htmx:
        context = {"streams": feed_states(), "poll_since": since.isoformat()}
        response = render(request, f"{TEMPLATE}#feed-status", context)
        return trigger_client_event(response, "toast", {"level": "info", "message": text})
    messages.info(request, text)
    return redirect("alerts:connector_settings")


@capability_required(Capability.ADMINISTER)
@require_GET
def connector_status(request):
    """The feed status table, polled after "Pull now" until a cycle queued since ``since`` has run
    (or ten minutes passed); 286 tells htmx to stop polling."""
    since = parse_datetime(request.GET.get("since", "")) or timezone.now() - POLL_FOR
    streams = feed_states()
    running = connection_get().cycle_started_at is not None
    finished = any(row["state"].last_run_at and row["state"].last_run_at >= since for row in streams)
    done = (finished and not running) or timezone.now() - since > POLL_FOR
    context = {"streams": streams, "poll_since": None if done else since.isoformat()}
    response = render(request, f"{TEMPLATE}#feed-status", context)
    if done:
        response.status_code = HTMX_STOP_POLLING
    return response

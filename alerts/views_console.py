"""The analyst's console on the alerts side: the queue, an alert, an identity's timeline, search.

Function-based views: each reads through ``alerts.selectors``, writes
through the alert services, and answers htmx with a named partial of its page template.
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from airportal.errors import DomainError, NotFound
from airportal.htmx import domain_error_response, render_page, toast, trigger, wants_partial
from airportal.roles import Capability, capability_required
from airportal.services import portal_settings_get
from alerts import charts
from alerts.console_hooks import hooks
from alerts.forms_console import AlertQueueFilterForm, BulkTriageForm, SearchForm, TimelineForm
from alerts.models import Alert, Event, Identity
from alerts.selectors import timeline
from alerts.selectors.alerts import (
    alert_count,
    alert_events,
    alert_get,
    alert_latest_id,
    alert_new_counts,
    alert_open_count,
    alert_page,
    triage_assignees,
)
from alerts.selectors.search import search_events, search_identity_counts, search_resolve
from alerts.services import alert_bulk_assign, alert_bulk_set_status

PAGE_SIZE = 50
TIMELINE_PAGE_SIZE = 50


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
        return _refused(request, " ".join(error for errors in form.errors.values() for error in errors))
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
    try:
        alert = alert_get(alert_id=alert_id)
    except NotFound as error:
        raise Http404(error.message) from None
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


def _by_day(events: list[Event], previous_day: str | None) -> list[tuple[date | None, Event]]:
    """Pairs (day to print before the event, or None, event) for a list grouped by day."""
    rows, current = [], previous_day
    for event in events:
        day = event.occurred_at.date()
        rows.append((day if day.isoformat() != current else None, event))
        current = day.isoformat()
    return rows


# htmx targets of the timeline page -> the partial that answers them.
TIMELINE_PARTIALS = {"timeline-events": "events", "timeline-more": "event-rows"}


@require_GET
@capability_required(Capability.VIEW)
def identity_timeline(request, upn: str):
    """``/users/<upn>/``: the identity, its activity charts and its events grouped by day."""
    try:
        identity = timeline.identity_get(upn=upn)
    except NotFound as error:
        raise Http404(error.message) from None
    form = TimelineForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    days = data.get("days") or 7
    kinds = data.get("kind") or []
    start, end = timeline.timeline_window(identity=identity, days=days)
    page = timeline.event_page(
        identity=identity,
        start=start,
        end=end,
        kinds=kinds,
        cursor=request.GET.get("cursor"),
        limit=TIMELINE_PAGE_SIZE,
    )
    context = {
        "identity": identity,
        "form": form,
        "days": days,
        "kinds": kinds,
        "start": start,
        "end": end,
        "page": page,
        "rows": _by_day(page.rows, request.GET.get("day")),
        "last_day": page.rows[-1].occurred_at.date().isoformat() if page.rows else "",
        "evidence_ids": timeline.evidence_event_ids([event.id for event in page]),
        "period_choices": TimelineForm.PERIODS,
    }
    target = request.htmx.target if wants_partial(request) else None
    if target in TIMELINE_PARTIALS:
        return render(request, f"alerts/identity_timeline.html#{TIMELINE_PARTIALS[target]}", context)
    activity = timeline.activity_per_hour(identity=identity, start=start, end=end)
    counts = timeline.per_kind(activity)
    context.update(
        kind_counts=sorted(counts.items(), key=lambda item: -item[1]),
        kind_labels=dict(Event.Kind.choices),
        event_total=sum(counts.values()),
        open_alerts=alert_open_count(identity=identity),
        investigation=hooks.identity_investigation(identity.id),
        charts=timeline_charts(identity, start, end, activity),
    )
    return render_page(request, "alerts/identity_timeline.html", context, partial="body")


def timeline_charts(identity: Identity, start, end, activity: list[tuple]) -> dict[str, charts.Chart]:
    windows = timeline.alert_windows(identity=identity, start=start, end=end)
    mail = timeline.of_kind(activity, Event.Kind.MAIL_SENT)
    band = timeline.mail_baseline_band(identity=identity, before=start)
    places, legs = timeline.signin_moves(identity=identity, start=start, end=end)
    impossible = sum(1 for leg in legs if leg["impossible"])
    return {
        "activity": charts.Chart(
            id="chart-activity",
            label=f"Activity per hour by kind, {len(windows)} alert windows shaded",
            figure=charts.activity_figure(activity, start=start, end=end, windows=windows),
            empty="" if activity else "No activity in this period.",
        ),
        "mail": charts.Chart(
            id="chart-mail",
            label="Mail sent per hour against the usual range for that hour",
            figure=charts.mail_baseline_figure(mail, start=start, end=end, band=band),
            empty="" if (mail or band) else "No mail sent in this period or the 14 days before.",
        ),
        "map": charts.Chart(
            id="chart-map",
            label=f"Sign-in map: {len(places)} places, {len(legs)} moves, {impossible} impossible",
            figure=charts.signin_map_figure(places, legs),
            geo=True,
            height=300,
            empty="" if places else "No located sign-ins in this period.",
        ),
    }


@require_GET
@capability_required(Capability.VIEW)
def event_raw(request, event_id: int):
    """The raw record of one event, loaded when its row is expanded."""
    try:
        event = timeline.event_get(event_id=event_id)
    except NotFound as error:
        raise Http404(error.message) from None
    return render(request, "alerts/identity_timeline.html#event-raw", {"event": event})


@require_GET
@capability_required(Capability.VIEW)
def search(request):
    """Events matching an IP, address, subject, rule name or UPN, and how many per identity."""
    form = SearchForm(request.GET or None)
    context = {"form": form, "q": "", "error": "", "page": None}
    if form.is_valid() and form.cleaned_data["q"]:
        context["q"] = form.cleaned_data["q"]
        try:
            parsed = search_resolve(context["q"])
        except DomainError as error:
            context["error"] = error.message
        else:
            page = search_events(search=parsed, cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
            context.update(search=parsed, page=page, evidence_ids=timeline.evidence_event_ids([e.id for e in page]))
            if wants_partial(request) and request.htmx.target == "search-more":
                return render(request, "alerts/search.html#event-rows", context)
            identities, total, capped = search_identity_counts(search=parsed)
            context.update(identities=identities, total=total, capped=capped)
    return render_page(request, "alerts/search.html", context, partial="results")

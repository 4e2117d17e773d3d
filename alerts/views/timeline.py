"""An identity's timeline (``/users/<upn>/``): its activity charts and its events grouped by day."""

from datetime import date

from django.shortcuts import render
from django.views.decorators.http import require_GET

from airportal.htmx import render_page, wants_partial
from airportal.roles import Capability, capability_required
from airportal.shortcuts import get_or_404
from alerts import charts
from alerts.console_hooks import hooks
from alerts.forms.timeline import TimelineForm
from alerts.models import Event, Identity
from alerts.selectors import timeline
from alerts.selectors.alerts import alert_open_count

PAGE_SIZE = 50


def _by_day(events: list, previous_day: str | None) -> list[tuple[date | None, object]]:
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
    identity = get_or_404(timeline.identity_get, upn=upn)
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
        limit=PAGE_SIZE,
    )
    context = {
        "identity": identity,
        "form": form,
        "days": days,
        "kinds": kinds,
        "start": start,
        "end": end,
        "page": page,
        "rows": _by_day(timeline.fold_messages(identity=identity, events=page.rows), request.GET.get("day")),
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
    event = get_or_404(timeline.event_get, event_id=event_id)
    return render(request, "alerts/identity_timeline.html#event-raw", {"event": event})

"""Sending limit exceeded: recipients per hour or per day over the outbound limits.

Defaults are Exchange Online's outbound spam policy defaults: 500 external and 1,000 internal
recipients per hour, 1,000 recipients per day. Windows roll (any 60 minutes, any 24 hours),
so a burst across an hour boundary is not split in two. Microsoft's own "User restricted
from sending email" record also fires this detector, at the policy's severity: the limit was
hit where we cannot see, and Exchange acted on it.

These defaults are Microsoft's recommended preset, not what Exchange Online enforces, and a
marketing or HR mailbox passes them every day: a count within ``usual_factor`` (3: a rolling
24 hours can hold two days' campaigns) times the
user's own median day (the last 30 days) is not news and raises nothing; a sender with fewer
than ``min_history_days`` days of sending history raises a low alert (unusual for whom?).
"""

from datetime import UTC, timedelta

from alerts.activity.mail import busiest_window, messages_of
from alerts.baselines import recipients_around, sending_baseline
from alerts.detectors.base import Detection, Detector
from alerts.detectors.params import Param, ParamSchema
from alerts.models import Event, Severity

MAX_EVENTS = 200
USUAL_DAYS = 30


class SendingLimitExceeded(Detector):
    key = "sending_limit_exceeded"
    name = "Sending limit exceeded"
    description = "Recipients per hour (external, internal) or per day above the outbound limits."
    severity = Severity.HIGH
    schema = ParamSchema(
        (
            Param(
                "external_per_hour",
                "int",
                500,
                "External recipients per hour",
                "Exchange Online default: 500.",
                1,
                1_000_000,
            ),
            Param(
                "internal_per_hour",
                "int",
                1000,
                "Internal recipients per hour",
                "Exchange Online default: 1,000.",
                1,
                1_000_000,
            ),
            Param("recipients_per_day", "int", 1000, "Recipients per day", "Exchange Online default: 1,000.", 1, 10**7),
            Param(
                "usual_factor",
                "float",
                3.0,
                "Times the user's usual day",
                "A count within this many times the user's median day of the last 30 days raises nothing.",
                1.0,
                100.0,
            ),
            Param(
                "min_history_days",
                "int",
                5,
                "Days of sending history",
                "With fewer days of history, a limit passed raises a low alert only.",
                0,
                30,
            ),
            Param(
                "include_restricted_records",
                "bool",
                True,
                "Alert on Microsoft's restriction",
                "Raise this alert when Microsoft reports it restricted the user from sending.",
            ),
        )
    )
    trigger_kinds = frozenset({Event.Kind.MAIL_SENT, Event.Kind.SENDING_RESTRICTED})
    context_kinds = frozenset({Event.Kind.MAIL_SENT})

    def context_span(self, params):
        return timedelta(hours=24)

    def wants_context(self, baseline, triggers, params):
        floor = min(params["external_per_hour"], params["internal_per_hour"], params["recipients_per_day"])
        mail = [event for event in triggers if event.kind == Event.Kind.MAIL_SENT]
        return any(recipients_around(baseline, event.occurred_at) > floor for event in mail)

    def detect(self, ctx, identity_id, triggers, params):
        trigger_ids = {event.pk for event in triggers}
        messages = messages_of(ctx.events_around(identity_id, self.context_kinds, triggers, self.context_span(params)))
        is_internal = ctx.is_internal

        def touches(message):
            return any(event.pk in trigger_ids for event in message.events)

        def internal(message):
            return message.recipient_count - message.external_count(is_internal)

        checks = [
            ("external_per_hour", timedelta(hours=1), lambda m: m.external_count(is_internal), "external recipients"),
            ("internal_per_hour", timedelta(hours=1), internal, "internal recipients"),
            ("recipients_per_day", timedelta(hours=24), lambda m: m.recipient_count, "recipients"),
        ]
        reasons: dict[str, str] = {}
        evidence: dict = {}
        events: list[Event] = []
        first = min(event.occurred_at for event in triggers)
        usual = sending_baseline(ctx.baselines.get(identity_id), before=first.astimezone(UTC).date(), days=USUAL_DAYS)
        evidence["usual_day"] = {"median_recipients": usual.median_recipients, "active_days": usual.active_days}
        for name, span, weight, noun in checks:
            window = busiest_window(messages, span=span, touches=touches, weight=weight, is_internal=is_internal)
            if window is None:
                continue
            count = sum(weight(message) for message in window.messages)
            evidence[name] = {"limit": params[name], "count": count, "window_start": window.start.isoformat()}
            if count > params[name] and count > params["usual_factor"] * usual.median_recipients:
                period = "hour" if span == timedelta(hours=1) else "24 hours"
                reasons[name] = f"Sent to {count} {noun} within one {period}; the limit is {params[name]}."
                events = events or window.events(MAX_EVENTS)
        restricted = [event for event in triggers if event.kind == Event.Kind.SENDING_RESTRICTED]
        if restricted and params["include_restricted_records"]:
            reasons["restricted"] = "Microsoft reported that it restricted this user from sending email."
            events = restricted + events
        if not reasons:
            return []
        young = usual.active_days < params["min_history_days"] and "restricted" not in reasons
        return [
            Detection(
                identity_id=identity_id,
                title="Outbound sending limit exceeded",
                reasons=reasons,
                events=events[:MAX_EVENTS],
                evidence=evidence,
                severity=Severity.LOW if young else None,
            )
        ]

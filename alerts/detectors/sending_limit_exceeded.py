"""Sending limit exceeded: recipients per hour or per day over the outbound limits.

Defaults are Exchange Online's outbound spam policy defaults: 500 external and 1,000 internal
recipients per hour, 1,000 recipients per day. Windows roll (any 60 minutes, any 24 hours),
so a burst across an hour boundary is not split in two. Microsoft's own "User restricted
from sending email" record also fires this detector: the limit was hit where we cannot see.
"""

from datetime import timedelta

from alerts.activity.mail import busiest_window, messages_of
from alerts.baselines import recipients_around
from alerts.detectors.base import Detector, Finding
from alerts.detectors.params import Param, ParamSchema
from alerts.models import Event, Severity

MAX_EVENTS = 200


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
        for name, span, weight, noun in checks:
            window = busiest_window(messages, span=span, touches=touches, weight=weight, is_internal=is_internal)
            if window is None:
                continue
            count = sum(weight(message) for message in window.messages)
            evidence[name] = {"limit": params[name], "count": count, "window_start": window.start.isoformat()}
            if count > params[name]:
                period = "hour" if span == timedelta(hours=1) else "24 hours"
                reasons[name] = f"Sent to {count} {noun} within one {period}; the limit is {params[name]}."
                events = events or window.events(MAX_EVENTS)
        restricted = [event for event in triggers if event.kind == Event.Kind.SENDING_RESTRICTED]
        if restricted and params["include_restricted_records"]:
            reasons["restricted"] = "Microsoft reported that it restricted this user from sending email."
            events = restricted + events
        if not reasons:
            return []
        return [
            Finding(
                identity_id=identity_id,
                title="Outbound sending limit exceeded",
                reasons=reasons,
                events=events[:MAX_EVENTS],
                evidence=evidence,
            )
        ]

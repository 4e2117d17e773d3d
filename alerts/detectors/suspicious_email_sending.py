"""Suspicious email sending: a burst far above the user's own usual day and above an absolute floor.

A compromised mailbox is used to send phishing: hundreds of recipients, often external, often
one subject, within minutes. A mail-heavy role (a newsletter mailbox) is not an anomaly: the
threshold is the larger of an absolute floor and a multiple of *this* user's median day over
the previous two weeks (days without mail left out, so weekends do not lower it).
"""

from datetime import UTC, timedelta

from alerts.baselines import sending_baseline
from alerts.detectors.base import Detector, Finding, quote
from alerts.detectors.mail import busiest_window, messages_of
from alerts.detectors.params import Param, ParamSchema
from alerts.models import Event, Severity

MAX_EVENTS = 200


class SuspiciousEmailSending(Detector):
    key = "suspicious_email_sending"
    name = "Suspicious email sending"
    description = (
        "Recipients sent within a rolling window far above the user's own median day and above an "
        "absolute floor, for all recipients or for external ones."
    )
    severity = Severity.HIGH
    schema = ParamSchema(
        (
            Param("window_minutes", "int", 60, "Window (minutes)", "Length of the rolling window.", 5, 1440),
            Param(
                "min_recipients",
                "int",
                100,
                "Floor: recipients per window",
                "Never alert below this many recipients in one window, whatever the baseline.",
                1,
                100_000,
            ),
            Param(
                "min_external_recipients",
                "int",
                50,
                "Floor: external recipients per window",
                "The same floor for recipients outside the accepted domains.",
                1,
                100_000,
            ),
            Param(
                "baseline_multiplier",
                "float",
                3.0,
                "Times the usual day",
                "Alert when a window holds more than this multiple of the user's median day.",
                1,
                1000,
            ),
            Param(
                "baseline_days", "int", 14, "Baseline period (days)", "Days of history the median is taken over.", 1, 60
            ),
        )
    )
    trigger_kinds = frozenset({Event.Kind.MAIL_SENT})
    context_kinds = frozenset({Event.Kind.MAIL_SENT})

    def context_span(self, params):
        return timedelta(minutes=params["window_minutes"])

    def detect(self, ctx, identity_id, triggers, params):
        trigger_ids = {event.pk for event in triggers}
        messages = messages_of(ctx.events_of(identity_id, self.context_kinds))
        span = timedelta(minutes=params["window_minutes"])

        def touches(message):
            return any(event.pk in trigger_ids for event in message.events)

        by_total = busiest_window(
            messages, span=span, touches=touches, weight=lambda m: m.recipient_count, is_internal=ctx.is_internal
        )
        by_external = busiest_window(
            messages,
            span=span,
            touches=touches,
            weight=lambda m: m.external_count(ctx.is_internal),
            is_internal=ctx.is_internal,
        )
        if by_total is None:
            return []
        usual = sending_baseline(
            ctx.baselines.get(identity_id),
            before=by_total.start.astimezone(UTC).date(),
            days=params["baseline_days"],
        )
        multiplier = params["baseline_multiplier"]
        threshold = max(params["min_recipients"], multiplier * usual.median_recipients)
        external_threshold = max(params["min_external_recipients"], multiplier * usual.median_external)
        usual_text = (
            f"a usual day is {usual.median_recipients:g} recipients ({usual.median_external:g} external), "
            f"the median of {usual.active_days} active days in the last {usual.period_days}"
            if usual.active_days
            else f"no mail in the previous {usual.period_days} days to compare with"
        )
        reasons = {}
        window = None
        if by_total.recipients > threshold:
            window = by_total
            reasons["volume"] = (
                f"Sent to {by_total.recipients} recipients within {params['window_minutes']} minutes; "
                f"{usual_text}, so the threshold was {threshold:g}."
            )
        if by_external is not None and by_external.external > external_threshold:
            window = window or by_external
            reasons["external_volume"] = (
                f"Sent to {by_external.external} external recipients within {params['window_minutes']} minutes "
                f"(threshold {external_threshold:g})."
            )
        if not reasons:
            return []
        subject, subject_recipients = window.top_subject()
        if subject and subject_recipients > 1:
            reasons["one_subject"] = f"{subject_recipients} of the recipients got the same subject {quote(subject)}."
        evidence = {
            "window_minutes": params["window_minutes"],
            "window_start": window.start.isoformat(),
            "window_end": window.end.isoformat(),
            "window_recipients": window.recipients,
            "window_external_recipients": window.external,
            "window_messages": len(window.messages),
            "baseline_median_recipients": usual.median_recipients,
            "baseline_median_external": usual.median_external,
            "baseline_active_days": usual.active_days,
            "threshold_recipients": threshold,
            "threshold_external_recipients": external_threshold,
            "top_subject": subject,
            "top_subject_recipients": subject_recipients,
        }
        return [
            Finding(
                identity_id=identity_id,
                title="Unusual volume of sent mail",
                reasons=reasons,
                events=window.events(MAX_EVENTS),
                evidence=evidence,
            )
        ]

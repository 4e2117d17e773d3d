"""Suspicious email sending: a burst far above the user's own usual day and above an absolute floor.

A compromised mailbox is used to send phishing: hundreds of recipients, often external, often
one subject, within minutes. A mail-heavy role (a newsletter mailbox) is not an anomaly: the
threshold is the larger of an absolute floor and a multiple of *this* user's median day over
the previous two weeks (days without mail left out, so weekends do not lower it). Each window
is judged against the baseline of its own day, so a backfill of several days is judged as it
happened; a user seen for less than the learning period is not judged yet. A burst to colleagues
only (an all-staff notice from HR or IT reads exactly like an internal phishing wave) is a low
alert: what tells them apart is a risky sign-in before it, which the playbook judges.
"""

from datetime import UTC, date, timedelta

from alerts.activity.mail import messages_of, rolling_windows, window_of
from alerts.baselines import SendingBaseline, recipients_around, sending_baseline
from alerts.detectors.base import Detection, Detector, quote
from alerts.detectors.params import Param, ParamSchema
from alerts.models import Event, Severity

MAX_EVENTS = 200
INTERNAL_ONLY_SHARE = 0.1  # a burst with at most this share of external recipients went to colleagues


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
            Param(
                "min_history_days",
                "int",
                3,
                "History needed (days)",
                "Users seen for fewer days are not judged by their baseline yet (the sending limits still apply).",
                0,
                60,
            ),
        )
    )
    trigger_kinds = frozenset({Event.Kind.MAIL_SENT})
    context_kinds = frozenset({Event.Kind.MAIL_SENT})

    def context_span(self, params):
        return timedelta(minutes=params["window_minutes"])

    def wants_context(self, baseline, triggers, params):
        floor = min(params["min_recipients"], params["min_external_recipients"])
        return any(recipients_around(baseline, event.occurred_at) > floor for event in triggers)

    def detect(self, ctx, identity_id, triggers, params):
        trigger_ids = {event.pk for event in triggers}
        span = timedelta(minutes=params["window_minutes"])
        messages = messages_of(ctx.events_around(identity_id, self.context_kinds, triggers, span))
        baseline = ctx.baselines.get(identity_id)
        learned_since = baseline.first_activity_at if baseline else None
        usual_by_day: dict[date, SendingBaseline] = {}

        def usual(day: date) -> SendingBaseline:
            if day not in usual_by_day:
                usual_by_day[day] = sending_baseline(baseline, before=day, days=params["baseline_days"])
            return usual_by_day[day]

        def touches(message):
            return any(event.pk in trigger_ids for event in message.events)

        checks = (
            ("volume", lambda m: m.recipient_count, params["min_recipients"], "median_recipients"),
            (
                "external_volume",
                lambda m: m.external_count(ctx.is_internal),
                params["min_external_recipients"],
                "median_external",
            ),
        )
        worst: dict[str, tuple[int, int, int, float, SendingBaseline]] = {}
        for code, weight, floor, median in checks:
            for first, last, count in rolling_windows(messages, span=span, weight=weight, touches=touches):
                start = messages[first].at
                if count <= floor or learned_since is None:
                    continue
                if start - learned_since < timedelta(days=params["min_history_days"]):
                    continue
                day_usual = usual(start.astimezone(UTC).date())
                threshold = max(floor, params["baseline_multiplier"] * getattr(day_usual, median))
                if count > threshold and count > worst.get(code, (0, 0, 0))[2]:
                    worst[code] = (first, last, count, threshold, day_usual)
        if not worst:
            return []
        first, last, _, _, day_usual = worst.get("volume") or worst["external_volume"]
        window = window_of(messages, first, last, ctx.is_internal)
        usual_text = (
            f"a usual day is {day_usual.median_recipients:g} recipients ({day_usual.median_external:g} external), "
            f"the median of {day_usual.active_days} active days in the last {day_usual.period_days}"
            if day_usual.active_days
            else f"no mail in the previous {day_usual.period_days} days to compare with"
        )
        minutes = params["window_minutes"]
        reasons = {}
        if "volume" in worst:
            count, threshold = worst["volume"][2], worst["volume"][3]
            reasons["volume"] = (
                f"Sent to {count} recipients within {minutes} minutes; {usual_text}, "
                f"so the threshold was {threshold:g}."
            )
        if "external_volume" in worst:
            count, threshold = worst["external_volume"][2], worst["external_volume"][3]
            reasons["external_volume"] = (
                f"Sent to {count} external recipients within {minutes} minutes (threshold {threshold:g})."
            )
        subject, subject_recipients = window.top_subject()
        if subject and subject_recipients > 1:
            reasons["one_subject"] = f"{subject_recipients} of the recipients got the same subject {quote(subject)}."
        evidence = {
            "window_minutes": minutes,
            "window_start": window.start.isoformat(),
            "window_end": window.end.isoformat(),
            "window_recipients": window.recipients,
            "window_external_recipients": window.external,
            "window_messages": len(window.messages),
            "baseline_median_recipients": day_usual.median_recipients,
            "baseline_median_external": day_usual.median_external,
            "baseline_active_days": day_usual.active_days,
            "threshold_recipients": worst["volume"][3] if "volume" in worst else None,
            "threshold_external_recipients": worst["external_volume"][3] if "external_volume" in worst else None,
            "top_subject": subject,
            "top_subject_recipients": subject_recipients,
        }
        internal_only = "external_volume" not in worst and window.external <= INTERNAL_ONLY_SHARE * window.recipients
        return [
            Detection(
                identity_id=identity_id,
                title="Unusual volume of sent mail",
                reasons=reasons,
                events=window.events(MAX_EVENTS),
                evidence=evidence,
                severity=Severity.LOW if internal_only else None,
            )
        ]

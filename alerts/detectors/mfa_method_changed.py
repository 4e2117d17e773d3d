"""MFA method changed soon after a risky sign-in.

An attacker who got in with a stolen password registers their own authenticator to stay in.
A method change alone is routine (a new phone); it becomes an alert when a risky sign-in came
shortly before it: the source rated it risky, or it came from a country new for the user.
Removing every strong method (MFA switched off) alerts on its own unless disabled. A change an
administrator made on the user (a helpdesk reset) is not the user's registration and raises nothing.
"""

from datetime import timedelta

from alerts.activity.fields import attr, attribute_list
from alerts.activity.signins import (
    DEFAULT_RISK_EVENT_TYPES,
    DEFAULT_RISK_LEVELS,
    describe_risk,
    hhmm,
    is_successful_signin,
    new_country,
    source_risk,
    where,
)
from alerts.detectors.base import Detection, Detector, quote
from alerts.detectors.params import Param, ParamSchema
from alerts.models import Event, Severity

REMOVAL_WORDS = {"removed", "deleted", "disabled", "remove", "delete", "disable"}


def removes_every_method(event: Event) -> bool:
    """No strong method left after the change (the panther "MFA disabled" case)."""
    before = attribute_list(attr(event, "methods_before"))
    after = attribute_list(attr(event, "methods_after"))
    change = str(attr(event, "change", default="")).lower()
    return (change in REMOVAL_WORDS or bool(before)) and not after


class MfaMethodChanged(Detector):
    key = "mfa_method_changed"
    name = "MFA method changed after a risky sign-in"
    description = "An MFA method registered or changed soon after a risky sign-in, or every method removed."
    severity = Severity.HIGH
    schema = ParamSchema(
        (
            Param("window_hours", "int", 24, "Window (hours)", "How soon after the risky sign-in.", 1, 24 * 14),
            Param("risk_levels", "list", DEFAULT_RISK_LEVELS, "Risk levels", "Source risk levels that count."),
            Param("risk_event_types", "list", DEFAULT_RISK_EVENT_TYPES, "Risk detections", "Entra risk types."),
            Param(
                "new_country_counts",
                "bool",
                True,
                "New country is risky",
                "A sign-in from a country new for the user counts as risky.",
            ),
            Param("new_country_min_history_days", "int", 3, "New country: history needed (days)", "", 0, 365),
            Param("alert_on_removal", "bool", True, "Alert when MFA is removed", "Every strong method removed."),
        )
    )
    trigger_kinds = frozenset({Event.Kind.MFA_METHOD_CHANGED})
    context_kinds = frozenset({Event.Kind.SIGNIN})

    def context_span(self, params):
        return timedelta(hours=params["window_hours"])

    def detect(self, ctx, identity_id, triggers, params):
        window = timedelta(hours=params["window_hours"])
        baseline = ctx.baselines.get(identity_id)
        signins = [e for e in ctx.events_of(identity_id, self.context_kinds) if is_successful_signin(e)]
        reasons: dict[str, str] = {}
        evidence: dict = {"window_hours": params["window_hours"], "risky_signins": []}
        events: list[Event] = []
        upn = ctx.identities[identity_id].upn.lower()
        for change in triggers:
            if str(attr(change, "actor", default="") or upn).lower() != upn:
                continue  # an administrator's change on the user (a helpdesk reset)
            what = quote(change.operation or "MFA method changed")
            if params["alert_on_removal"] and removes_every_method(change):
                reasons[f"removed:{change.pk}"] = f"{what}: every strong authentication method was removed."
                events.append(change)
            for signin in signins:
                if not timedelta(0) <= change.occurred_at - signin.occurred_at <= window:
                    continue
                why = self._risky(signin, baseline, params)
                if not why:
                    continue
                minutes = round((change.occurred_at - signin.occurred_at).total_seconds() / 60)
                reasons[f"after_risky:{change.pk}:{signin.pk}"] = (
                    f"{what} at {hhmm(change.occurred_at)}, {minutes} minutes after a sign-in from "
                    f"{where(signin)} ({signin.ip}) where {why}."
                )
                evidence["risky_signins"].append({"ip": signin.ip, "at": signin.occurred_at.isoformat(), "why": why})
                events.extend([change, signin])
        if not reasons:
            return []
        return [
            Detection(
                identity_id=identity_id,
                title="MFA method changed after a risky sign-in"
                if any(code.startswith("after_risky") for code in reasons)
                else "MFA removed",
                reasons=reasons,
                events=list(dict.fromkeys(events)),
                evidence=evidence,
            )
        ]

    def _risky(self, signin, baseline, params) -> str:
        risk = source_risk(signin, levels=params["risk_levels"], event_types=params["risk_event_types"])
        if risk:
            return describe_risk(risk)
        if params["new_country_counts"] and new_country(
            signin, baseline, min_history_days=params["new_country_min_history_days"]
        ):
            return "the country was new for this user"
        return ""

"""MFA method changed around an anomalous sign-in: an intruder making sure they can come back.

An attacker who got in (a stolen password, an adversary-in-the-middle proxy that passed MFA for
them, a device code) registers their own authenticator. A method change alone is routine (a new
phone); it becomes an alert when

- an anomalous successful sign-in came at most ``window_hours`` before it: risk as the source
  reports it (low or above, or an anomaly detection), a country or a hosting provider's
  autonomous system new for the user, a script's user agent (an AiTM kit), impossible travel from the sign-in before;
- an open Entra ID Protection risk detection (``risk_detection`` events: often offline, hours after
  the sign-in it names) for activity at most ``window_hours`` before it: it pairs as the sign-in it
  names (``requestId``) or, without that sign-in stored, on its own; a detection on a sign-in that
  failed or that Conditional Access blocked is not access;
- it was made from a network the user never signed in from before the window (alone, medium);
- or it switched MFA off: every strong method removed, or per-user MFA disabled.

Either record may arrive first: a change is judged against the sign-ins and detections stored
before it, and a sign-in or a detection against the changes stored after it, so a sign-in log that
lags the audit log, or a detection Entra makes offline, still pairs them. A change an administrator
made on the user (a helpdesk reset) is not the user's registration and raises nothing.
"""

from datetime import timedelta

from alerts.activity.addresses import ip_range
from alerts.activity.changes import made_by_another_person
from alerts.activity.fields import attr, attribute_list
from alerts.activity.signins import (
    ANOMALY_RISK_EVENT_TYPES,
    HOSTING_ASNS,
    describe_detection,
    describe_risk,
    detection_request_id,
    detection_risk,
    hhmm,
    is_interactive,
    is_successful_signin,
    new_country,
    new_hosting_network,
    scripted_agent,
    source_risk,
    unfamiliar_network,
    where,
)
from alerts.baselines import recent_signins
from alerts.detectors.base import Detection, Detector, quote
from alerts.detectors.params import Param, ParamSchema
from alerts.detectors.suspicious_signin import impossible_travel
from alerts.models import Event, Severity

REMOVAL_WORDS = {"removed", "deleted", "disabled", "remove", "delete", "disable"}
TRAVEL = {"travel_min_km": 500, "travel_max_kmh": 800}
CHANGE = Event.Kind.MFA_METHOD_CHANGED
SIGNIN = Event.Kind.SIGNIN
FAILED = Event.Kind.SIGNIN_FAILED
RISK = Event.Kind.RISK_DETECTION
TITLES = (
    ("after_risky", "MFA method changed after a risky sign-in"),
    ("removed", "MFA removed"),
    ("unfamiliar_network", "MFA method registered from an unfamiliar network"),
)


def removes_every_method(event: Event) -> bool:
    """MFA switched off: no strong method left (the panther "MFA disabled" case), or per-user
    MFA turned off (``StrongAuthenticationRequirement`` emptied or set to state 0)."""
    if attr(event, "mfa_required_before") is True and attr(event, "mfa_required_after") is False:
        return True
    before = attribute_list(attr(event, "methods_before"))
    after = attribute_list(attr(event, "methods_after"))
    change = str(attr(event, "change", default="")).lower()
    return (change in REMOVAL_WORDS or bool(before)) and not after


def _on(name: str, label: str, help_text: str = "") -> Param:
    return Param(name, "bool", True, label, help_text)


class MfaMethodChanged(Detector):
    key = "mfa_method_changed"
    name = "MFA method changed after a risky sign-in"
    description = (
        "An MFA method registered or changed soon after an anomalous sign-in (either may arrive first), "
        "from a network the user never signed in from, or MFA switched off."
    )
    severity = Severity.HIGH
    schema = ParamSchema(
        (
            Param("window_hours", "int", 24, "Window (hours)", "How soon after the anomalous sign-in.", 1, 24 * 14),
            Param("risk_levels", "list", ["low", "medium", "high"], "Risk levels", "Source risk levels that count."),
            Param("risk_event_types", "list", ANOMALY_RISK_EVENT_TYPES, "Risk detections", "Entra risk types."),
            _on("new_country_counts", "New country is anomalous", "A country new for the user."),
            Param("new_country_min_history_days", "int", 3, "New country / network: history needed (days)", "", 0, 365),
            _on(
                "new_network_counts",
                "New hosting network is anomalous",
                "A hosting provider's autonomous system new for the user.",
            ),
            Param("hosting_asns", "list", HOSTING_ASNS, "Hosting networks (AS numbers)", "Datacenters, VPS."),
            _on("scripted_agent_counts", "Script user agent is anomalous", "axios, python-requests… (AiTM kits)."),
            _on("impossible_travel_counts", "Impossible travel is anomalous", "From the sign-in before."),
            _on(
                "unfamiliar_network_counts",
                "Registration from an unfamiliar network",
                "A change from an IP range the user never signed in from before the window.",
            ),
            _on("alert_on_removal", "Alert when MFA is removed", "Every strong method removed or per-user MFA off."),
        )
    )
    trigger_kinds = frozenset({CHANGE, SIGNIN, RISK})
    context_kinds = frozenset({CHANGE, SIGNIN, FAILED, RISK})

    def context_span(self, params):
        return timedelta(hours=params["window_hours"])

    def context_needs(self, baseline, triggers, params):
        """Changes need the sign-ins before them; sign-ins the changes after them. Changes are
        rare, so loading them costs an index probe that finds nothing, far less than judging
        every sign-in's anomaly up front: that is only done for a sign-in a change follows."""
        kinds = set()
        if any(event.kind == CHANGE for event in triggers):
            kinds |= {SIGNIN, FAILED, RISK}
        if any(is_successful_signin(event) for event in triggers):
            kinds.add(CHANGE)
        if any(event.kind == RISK for event in triggers):
            kinds |= {CHANGE, SIGNIN, FAILED}  # the changes after it, the sign-in it names
        return frozenset(kinds)

    def title_for(self, reasons):
        codes = {code.split(":")[0] for code in reasons}
        return next((title for code, title in TITLES if code in codes), None)

    def detect(self, ctx, identity_id, triggers, params):
        window = timedelta(hours=params["window_hours"])
        baseline = ctx.baselines.get(identity_id)
        upn = ctx.identities[identity_id].upn.lower()
        judged = {event.pk for event in triggers}
        changes = [
            change
            for change in _distinct([e for e in triggers if e.kind == CHANGE] + ctx.events_of(identity_id, {CHANGE}))
            # An administrator's change on the user (a helpdesk reset) is not the user's own registration.
            if not made_by_another_person(change, upn)
        ]
        if not changes:
            return []  # a batch of sign-ins with no change after them: the common case
        loaded = _distinct([*triggers, *ctx.events_of(identity_id, {SIGNIN, FAILED})])
        signins = [e for e in loaded if is_successful_signin(e)]
        candidates, detections = self._detections(ctx, identity_id, triggers, loaded, signins, params)
        reasons: dict[str, str] = {}
        evidence: dict = {"window_hours": params["window_hours"], "risky_signins": []}
        events: list[Event] = []
        anomalies: dict[int, str] = {}
        for change in changes:
            what = quote(change.operation or "MFA method changed")
            if change.pk in judged:
                if params["alert_on_removal"] and removes_every_method(change):
                    reasons[f"removed:{change.pk}"] = f"{what}: MFA was switched off (no strong method left)."
                    events.append(change)
                if params["unfamiliar_network_counts"] and self._unfamiliar_network(change, baseline, params):
                    reasons[f"unfamiliar_network:{change.pk}"] = (
                        f"{what} at {hhmm(change.occurred_at)} from {change.ip}, a network this user never signed "
                        "in from before."
                    )
                    evidence["unfamiliar_network"] = {"ip": change.ip, "range": ip_range(change.ip)}
                    events.append(change)
            for signin in candidates:
                detection = detections.get(signin.pk)
                new = {signin.pk, detection.pk if detection else None} & judged
                if change.pk not in judged and not new:
                    continue  # judged before, when all were stored
                if not timedelta(0) <= change.occurred_at - signin.occurred_at <= window:
                    continue
                if signin.pk not in anomalies:
                    anomalies[signin.pk] = self._why(signin, detection, baseline, params)
                why = anomalies[signin.pk]
                if not why:
                    continue
                minutes = round((change.occurred_at - signin.occurred_at).total_seconds() / 60)
                reasons[f"after_risky:{change.pk}:{signin.pk}"] = (
                    f"{what} at {hhmm(change.occurred_at)}, {minutes} minutes after a sign-in from "
                    f"{where(signin)} ({signin.ip}) where {why}."
                )
                evidence["risky_signins"].append({"ip": signin.ip, "at": signin.occurred_at.isoformat(), "why": why})
                events.extend(e for e in (change, signin, detection) if e is not None)
        if not reasons:
            return []
        finding = Detection(
            identity_id=identity_id,
            title=self.title_for(reasons),
            reasons=reasons,
            events=list(dict.fromkeys(events)),
            evidence=evidence,
        )
        if all(code.startswith("unfamiliar_network") for code in reasons):
            finding.severity = Severity.MEDIUM  # where it was done, not yet who did it
        return [finding]

    def _detections(self, ctx, identity_id, triggers, loaded, signins, params):
        """The anomalous-access candidates: the successful sign-ins, plus each open risk detection
        whose sign-in is not stored (or that names no sign-in); and per sign-in the open detection
        that names it. A detection on a failed or blocked sign-in is left out: nobody got in."""
        by_request = {str(attr(e, "request_id", default="") or "").lower(): e for e in loaded if e.kind != RISK}
        by_request.pop("", None)
        successful = {e.pk for e in signins}
        candidates, linked = list(signins), {}
        stored = _distinct([e for e in triggers if e.kind == RISK] + ctx.events_of(identity_id, {RISK}))
        for detection in stored:
            if detection_risk(detection, levels=params["risk_levels"], event_types=params["risk_event_types"]) is None:
                continue
            named = by_request.get(detection_request_id(detection))
            if named is None:
                candidates.append(detection)
            elif named.pk in successful:
                linked.setdefault(named.pk, detection)
        return candidates, linked

    def _why(self, event, detection, baseline, params) -> str:
        """Why a sign-in (or a detection standing for one) was not the usual user's."""
        if event.kind == RISK:
            detection, own = event, ""
        else:
            own = self.anomaly(event, baseline, params)
        if own or detection is None:
            return own
        risk = detection_risk(detection, levels=params["risk_levels"], event_types=params["risk_event_types"])
        return describe_detection(detection, risk)

    def anomaly(self, signin, baseline, params) -> str:
        """Why a successful sign-in was not the usual user's, in words; "" when nothing was odd."""
        risk = source_risk(signin, levels=params["risk_levels"], event_types=params["risk_event_types"])
        if risk:
            return describe_risk(risk)
        history = params["new_country_min_history_days"]
        # A non-interactive sign-in (a token redeemed) from a new country is not by itself a new habit broken.
        interactive = is_interactive(signin)
        if params["new_country_counts"] and interactive and new_country(signin, baseline, min_history_days=history):
            return "the country was new for this user"
        if params["new_network_counts"]:
            hosting = {int(number) for number in params["hosting_asns"] if str(number).isdigit()}
            network = new_hosting_network(signin, baseline, hosting=hosting, min_history_days=history)
            if network:
                return f"the network ({network}, a hosting provider) was new for this user"
        if params["scripted_agent_counts"]:
            agent = scripted_agent(signin.user_agent)
            if agent:
                return f"the client was a script ({agent}), not a browser"
        if params["impossible_travel_counts"]:
            return _travelled(signin, baseline)
        return ""

    def _unfamiliar_network(self, change, baseline, params) -> bool:
        """The change came from an IP range no successful sign-in used before the window opened
        (a sign-in minutes before, from the same new range, does not make it familiar)."""
        opened = change.occurred_at - timedelta(hours=params["window_hours"])
        history = params["new_country_min_history_days"]
        return unfamiliar_network(change.ip, None, baseline, before=opened, min_history_days=history)


def _travelled(signin: Event, baseline) -> str:
    """Impossible travel from the remembered sign-in just before this one."""
    if signin.latitude is None or signin.longitude is None:
        return ""
    remembered = recent_signins(baseline, around={signin.pk})
    before = [e for e in remembered if e.pk != signin.pk and e.occurred_at <= signin.occurred_at]
    found = impossible_travel(before[-1], signin, TRAVEL) if before else None
    if found is None:
        return ""
    return f"it came {found['distance_km']:,} km from the sign-in {found['minutes']} minutes before"


def _distinct(events: list[Event]) -> list[Event]:
    return list({event.pk: event for event in events}.values())

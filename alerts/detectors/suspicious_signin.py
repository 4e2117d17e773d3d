"""Suspicious sign-in: impossible travel, a new country, the source's risk verdict, password spray
followed by a success, legacy protocols, and the MFA-bypassing takeovers of ``signin_takeover``
(device code, phishing-kit clients, session replay, MFA failed from a stranger's network).

Each signal can be switched off. The signals for one identity fold into one alert, whose
reasons list every signal that fired. Impossible travel compares consecutive successful
sign-ins (either neighbour of a new sign-in, so late-arriving logs are judged too); the same
sign-in reported by two sources has the same IP and is never paired with itself.
Password spray is a cross-account pattern: failures for many accounts from one IP within the
window, then a success from that IP, which is where the alert goes.
"""

from datetime import timedelta

from alerts.activity.addresses import ip_range
from alerts.activity.fields import attr
from alerts.activity.signins import (
    DEFAULT_RISK_EVENT_TYPES,
    DEFAULT_RISK_LEVELS,
    describe_detection,
    describe_risk,
    detection_risk,
    distance_km,
    hhmm,
    is_interactive,
    is_password_failure,
    is_successful_signin,
    new_country,
    place,
    risk_is_weak,
    source_risk,
    where,
)
from alerts.baselines import known_before, recent_signins, recent_signins_cover
from alerts.detectors.base import Detection, Detector
from alerts.detectors.params import Param, ParamSchema
from alerts.detectors.signin_takeover import (
    KIT_APPS,
    device_code_outside_habit,
    from_stranger,
    mfa_failed_from_stranger,
    scripted_kit_client,
    session_replayed,
)
from alerts.models import Event, Severity

LEGACY_CLIENTS = [
    "Authenticated SMTP",
    "AutoDiscover",
    "Exchange ActiveSync",
    "Exchange Online PowerShell",
    "Exchange Web Services",
    "IMAP4",
    "MAPI Over HTTP",
    "Offline Address Book",
    "Other clients",
    "Outlook Anywhere (RPC over HTTP)",
    "POP3",
    "Reporting Web Services",
    "Universal Outlook",
]
EARTH_HALF_CIRCUMFERENCE_KM = 20_040
# Signals that say where the user signed in from, not that someone else did: alone, a low alert.
WEAK_SIGNALS = frozenset({"new_country", "legacy", "weak_risk"})
SIGNAL_LABELS = {
    "token_replay": "session token replayed",
    "kit_client": "phishing-kit client",
    "device_code": "device-code sign-in",
    "mfa_failed": "password right, MFA failed",
    "spray": "password spray then success",
    "impossible_travel": "impossible travel",
    "source_risk": "risky sign-in",
    "weak_risk": "risky sign-in",
    "new_country": "new country",
    "legacy": "legacy protocol",
}


def _on(name, label, help_text=""):
    return Param(name, "bool", True, label, help_text)


class SuspiciousSignin(Detector):
    key = "suspicious_signin"
    name = "Suspicious sign-in"
    description = (
        "Impossible travel, a country never seen for the user, anonymiser or risky sign-ins as the source "
        "reports them, password spray followed by a success, legacy protocols, device-code sign-ins outside the "
        "user's habit, phishing-kit clients, a session used from two networks far apart, and MFA failed after the "
        "right password from an unfamiliar network."
    )
    severity = Severity.MEDIUM
    schema = ParamSchema(
        (
            _on("check_impossible_travel", "Impossible travel"),
            Param("travel_min_km", "float", 500, "Travel: minimum distance (km)", "Ignore closer pairs.", 1, 20_000),
            Param("travel_max_kmh", "float", 800, "Travel: plausible speed (km/h)", "A jet's cruise speed.", 50, 5000),
            _on("check_new_country", "New country"),
            Param(
                "new_country_min_history_days",
                "int",
                3,
                "New country: history needed (days)",
                "Judge a country only once the user has this many days of sign-ins.",
                0,
                365,
            ),
            _on("check_source_risk", "Risk reported by the source"),
            Param("risk_levels", "list", DEFAULT_RISK_LEVELS, "Risk levels", "low, medium or high."),
            Param(
                "risk_event_types",
                "list",
                DEFAULT_RISK_EVENT_TYPES,
                "Risk detections",
                "Entra risk event types that count whatever the level.",
            ),
            Param(
                "risk_include_failed",
                "bool",
                False,
                "Risk: include failed sign-ins",
                "Also alert on risky sign-ins that failed.",
            ),
            _on("check_password_spray", "Password spray then success"),
            Param("spray_window_minutes", "int", 20, "Spray: window (minutes)", "", 1, 1440),
            Param("spray_min_accounts", "int", 10, "Spray: accounts failing from one IP", "", 2, 100_000),
            _on("check_legacy_protocols", "Legacy protocols"),
            Param("legacy_clients", "list", LEGACY_CLIENTS, "Legacy clients", "Entra clientAppUsed values."),
            Param("legacy_user_agents", "list", ["BAV2ROPC"], "Legacy user agents", "Substrings of the user agent."),
            _on("check_device_code", "Device-code sign-in outside the user's habit"),
            Param(
                "device_code_habit_days",
                "int",
                30,
                "Device code: habit period (days)",
                "A device-code sign-in within this period before makes one usual.",
                1,
                365,
            ),
            _on("check_kit_clients", "Phishing-kit client (HTTP library) on Office sign-ins"),
            Param("kit_apps", "list", KIT_APPS, "Kit client: apps", "App names or ids the kits proxy."),
            _on("check_token_replay", "One session from two networks far apart"),
            Param("session_min_km", "float", 500, "Session: minimum distance (km)", "", 1, 20_000),
            _on("check_mfa_failures", "Password right, MFA failed, from an unfamiliar network"),
            _on(
                "check_risk_detections",
                "Risk detections of Entra ID Protection",
                "Open detections at the risk levels or of the risk types above, offline ones included.",
            ),
        )
    )
    trigger_kinds = frozenset({Event.Kind.SIGNIN, Event.Kind.SIGNIN_FAILED, Event.Kind.RISK_DETECTION})
    context_kinds = frozenset({Event.Kind.SIGNIN})

    def context_span(self, params):
        return timedelta(hours=EARTH_HALF_CIRCUMFERENCE_KM / params["travel_max_kmh"])

    def context_needs(self, baseline, triggers, params):
        """Travel's neighbours, or the sign-ins around an MFA failure from a stranger's network."""
        if super().context_needs(baseline, triggers, params):
            return self.context_kinds
        days = params["new_country_min_history_days"]
        if params["check_mfa_failures"] and any(from_stranger(baseline, e, days) for e in triggers):
            return self.context_kinds
        return frozenset()

    def wants_context(self, baseline, triggers, params):
        """Travel needs the neighbouring sign-ins: the baseline remembers the recent ones; older
        triggers (a backfill) read them from the events."""
        if not params["check_impossible_travel"]:
            return False
        span = self.context_span(params)
        located = [
            e for e in triggers if is_successful_signin(e) and e.latitude is not None and e.longitude is not None
        ]
        return not all(recent_signins_cover(baseline, event.occurred_at, span) for event in located)

    def detect(self, ctx, identity_id, triggers, params):
        reasons: dict[str, str] = {}
        evidence: dict = {}
        events: list[Event] = []
        baseline = ctx.baselines.get(identity_id)
        successes = [event for event in triggers if is_successful_signin(event)]
        if params["check_impossible_travel"]:
            self._travel(ctx, identity_id, successes, params, reasons, evidence, events)
        for event in successes:
            # A non-interactive sign-in (a client redeeming a token) alone does not break the user's habit.
            found = (
                params["check_new_country"]
                and is_interactive(event)
                and new_country(event, baseline, min_history_days=params["new_country_min_history_days"])
            )
            if found:
                known = ", ".join(found["known_countries"]) or "none"
                reasons[f"new_country:{found['country']}"] = (
                    f"Signed in from {where(event)} at {hhmm(event.occurred_at)}: a country never seen for this "
                    f"user (known: {known})."
                )
                evidence.setdefault("new_country", []).append({**found, "ip": event.ip})
                events.append(event)
            if params["check_legacy_protocols"]:
                self._legacy(event, params, reasons, evidence, events)
        for signal in self._takeover_signals(ctx, triggers, params):
            reasons[signal.code] = signal.sentence
            evidence.setdefault(signal.code.split(":")[0], []).append(signal.evidence)
            events.extend(signal.events)
        if params["check_source_risk"]:
            for event in triggers if params["risk_include_failed"] else successes:
                risk = source_risk(event, levels=params["risk_levels"], event_types=params["risk_event_types"])
                if risk:
                    outcome = "succeeded" if is_successful_signin(event) else "failed"
                    code = "weak_risk" if risk_is_weak(risk) else "source_risk"
                    reasons[f"{code}:{event.ip}"] = (
                        f"Sign-in from {where(event)} ({event.ip}) {outcome}; {describe_risk(risk)}."
                    )
                    evidence.setdefault("source_risk", []).append({**risk, "ip": event.ip})
                    events.append(event)
        if params["check_risk_detections"]:
            self._risk_detections(triggers, params, reasons, evidence, events)
        if not reasons:
            return []
        finding = self._finding(identity_id, reasons, evidence, events)
        if all(code.split(":")[0] in WEAK_SIGNALS for code in reasons):
            finding.severity = Severity.LOW  # where the user was, not who it was: travellers, VPNs, relays
        return [finding]

    def _risk_detections(self, triggers, params, reasons, evidence, events):
        """Entra ID Protection's own detections, which may come hours after the sign-in (offline):
        one reason per IP, as the sign-in's own risk (a realtime detection repeats it)."""
        for event in triggers:
            if event.kind != Event.Kind.RISK_DETECTION:
                continue
            risk = detection_risk(event, levels=params["risk_levels"], event_types=params["risk_event_types"])
            if risk is None:
                continue
            code = "weak_risk" if risk_is_weak(risk) else "source_risk"
            whence = f"from {where(event)} ({event.ip})" if event.ip else "of this user"
            reasons[f"{code}:{event.ip or event.pk}"] = (
                f"Activity {whence} at {hhmm(event.occurred_at)}: {describe_detection(event, risk)}."
            )
            evidence.setdefault("source_risk", []).append({**risk, "ip": event.ip, "detection": event.source_record_id})
            events.append(event)

    def _takeover_signals(self, ctx, triggers, params):
        for event in triggers:
            found = [
                params["check_device_code"] and device_code_outside_habit(ctx, event),
                params["check_kit_clients"] and scripted_kit_client(event, params["kit_apps"]),
                params["check_token_replay"] and session_replayed(ctx, event, params["session_min_km"]),
                params["check_mfa_failures"]
                and mfa_failed_from_stranger(ctx, event, params["new_country_min_history_days"]),
            ]
            yield from (signal for signal in found if signal)

    def title_for(self, reasons):
        codes = {code.split(":")[0] for code in reasons}
        return "Suspicious sign-in: " + ", ".join(label for code, label in SIGNAL_LABELS.items() if code in codes)

    def _finding(self, identity_id, reasons, evidence, events):
        return Detection(
            identity_id=identity_id,
            title=self.title_for(reasons),
            reasons=reasons,
            events=list(dict.fromkeys(events)),
            evidence=evidence,
        )

    def _travel(self, ctx, identity_id, successes, params, reasons, evidence, events):
        baseline = ctx.baselines.get(identity_id)
        if self.wants_context(baseline, successes, params):
            signins = [e for e in ctx.events_of(identity_id, self.context_kinds) if is_successful_signin(e)]
        else:
            signins = recent_signins(baseline, around={event.pk for event in successes})
        located = sorted(
            (e for e in signins if e.latitude is not None and e.longitude is not None),
            key=lambda e: (e.occurred_at, e.pk),
        )
        position = {event.pk: index for index, event in enumerate(located)}
        for event in successes:
            index = position.get(event.pk)
            if index is None:
                continue
            pairs = []
            if index > 0:
                pairs.append((located[index - 1], event))
            if index + 1 < len(located):
                pairs.append((event, located[index + 1]))
            for before, after in pairs:
                found = impossible_travel(before, after, params)
                if found is None:
                    continue
                reasons[f"impossible_travel:{before.pk}:{after.pk}"] = (
                    f"Signed in from {where(before)} at {hhmm(before.occurred_at)} and from {where(after)} "
                    f"{found['minutes']} minutes later: {found['distance_km']:,} km, "
                    f"{_speed_text(found['speed_kmh'])}, over the plausible {params['travel_max_kmh']:g} km/h."
                )
                evidence.setdefault("impossible_travel", []).append(found)
                events.extend([before, after])

    def _legacy(self, event, params, reasons, evidence, events):
        found = legacy_protocol(event, params)
        if found is None:
            return
        reasons[f"legacy:{found['what']}"] = (
            f"Signed in with a legacy protocol ({found['what']}), which cannot enforce MFA."
        )
        evidence.setdefault("legacy", []).append(found)
        events.append(event)

    def detect_network(self, ctx, batch, params):
        """Password spray: per IP the batch touched, wrong passwords for many accounts, then a success.

        A spraying address is not where the organisation works: accounts that fail there and then
        sign in there (typos behind an office NAT) do not count, nor does an address many accounts
        sign in from successfully. Only wrong-credential failures count, never MFA interrupts.
        """
        if not params["check_password_spray"]:
            return []
        window = timedelta(minutes=params["spray_window_minutes"])
        batch_ids = {event.pk for event in batch}
        findings = []
        for ip, signins in ctx.signins_by_ip.items():
            failures = [e for e in signins if is_password_failure(e)]
            successes = [e for e in signins if is_successful_signin(e)]
            if not failures or not successes:
                continue
            if len({e.identity_id for e in successes}) >= params["spray_min_accounts"]:
                continue  # where many accounts sign in: the organisation's own egress
            for success in successes:
                start = success.occurred_at - window
                signed_in = {e.identity_id for e in successes if start <= e.occurred_at <= success.occurred_at}
                before = _distinct(
                    f
                    for f in failures
                    if start <= f.occurred_at <= success.occurred_at
                    and (f.identity_id == success.identity_id or f.identity_id not in signed_in)
                )
                accounts = {f.identity_id for f in before}
                if len(accounts) < params["spray_min_accounts"]:
                    continue
                if not batch_ids.intersection({success.pk, *(f.pk for f in before)}):
                    continue
                baseline = ctx.baselines.get(success.identity_id)
                if baseline and known_before(baseline.ip_ranges, ip_range(ip), success.occurred_at):
                    continue  # the user's own network (an office NAT), not an attacker's
                findings.append(self._spray_finding(success, before, accounts, params))
        return findings

    def _spray_finding(self, success, failures, accounts, params):
        reasons = {
            f"spray:{success.ip}": (
                f"{len(failures)} failed sign-ins for {len(accounts)} accounts came from {success.ip} within "
                f"{params['spray_window_minutes']} minutes, then this account signed in successfully from it at "
                f"{hhmm(success.occurred_at)}."
            )
        }
        evidence = {
            "spray": [
                {
                    "ip": success.ip,
                    "accounts": len(accounts),
                    "failures": len(failures),
                    "first_failure": min(f.occurred_at for f in failures).isoformat(),
                    "success_at": success.occurred_at.isoformat(),
                    "window_minutes": params["spray_window_minutes"],
                    "min_accounts": params["spray_min_accounts"],
                }
            ]
        }
        events = [success, *sorted(failures, key=lambda f: f.occurred_at)[:99]]
        return self._finding(success.identity_id, reasons, evidence, events)


def _distinct(failures) -> list[Event]:
    """One per sign-in attempt: the audit log and Graph may both report it (same account, second, IP)."""
    return list({(f.identity_id, f.occurred_at.replace(microsecond=0), f.ip): f for f in failures}.values())


def _speed_text(speed: float | None) -> str:
    return "at the same moment" if speed is None else f"{speed:,} km/h"


def impossible_travel(before: Event, after: Event, params: dict) -> dict | None:
    """The compared values when two consecutive sign-ins are too far apart for the time between them.

    The same sign-in reported by two sources (same IP) is never a journey. Used by the detector
    and by the back-test, so both judge a pair the same way.
    """
    if before.ip == after.ip:
        return None
    km = distance_km(before, after)
    hours = (after.occurred_at - before.occurred_at).total_seconds() / 3600
    speed = km / hours if hours > 0 else float("inf")
    if km <= params["travel_min_km"] or speed <= params["travel_max_kmh"]:
        return None
    return {
        "from": place(before),
        "to": place(after),
        "distance_km": round(km),
        "minutes": round(hours * 60),
        "speed_kmh": None if speed == float("inf") else round(speed),
        "min_km": params["travel_min_km"],
        "max_kmh": params["travel_max_kmh"],
    }


def legacy_protocol(event: Event, params: dict) -> dict | None:
    """The legacy client or user agent of a sign-in, when it is one the policy lists."""
    client = str(attr(event, "client_app", default=""))
    agent = event.user_agent or ""
    clients = [c for c in params["legacy_clients"] if c.lower() in client.lower()]
    agents = [a for a in params["legacy_user_agents"] if a.lower() in agent.lower()]
    if not clients and not agents:
        return None
    what = client if clients else f"user agent {agent[:60]}"
    return {"what": what, "client_app": client, "user_agent": agent[:200], "ip": event.ip}

"""Sign-in facts the detectors, back-tests and playbooks judge: the source's own risk verdict, a new country, distance.

Entra ID reports risk on each sign-in (``riskLevelDuringSignIn``, ``riskLevelAggregated``,
``riskState``, ``riskEventTypes_v2``); the adapters keep them as ``attributes["risk_level"]``,
``risk_level_aggregated``, ``risk_state`` and ``risk_event_types``. A risk an admin dismissed or
remediated no longer counts. Also how a sign-in was made (``authentication_protocol`` deviceCode,
``session_id``, the error of an MFA-stage failure, an HTTP library's user agent) and whether its
network (IP range, autonomous system) is one the user signed in from before.
"""

import math
from datetime import datetime, timedelta

from alerts.activity.access import granted_access, non_interactive
from alerts.activity.addresses import ip_range
from alerts.activity.fields import attr, attribute_list
from alerts.baselines import asn_key, known_before, signin_history_start
from alerts.models import Event, IdentityBaseline

CLOSED_RISK_STATES = {"dismissed", "remediated", "confirmedsafe"}
DEFAULT_RISK_LEVELS = ["medium", "high"]
DEFAULT_RISK_EVENT_TYPES = [
    "anonymizedIPAddress",
    "maliciousIPAddress",
    "passwordSpray",
    "leakedCredentials",
    "attackerinTheMiddle",
    "anomalousToken",
    "tokenIssuerAnomaly",
    "nationStateIP",
    "investigationsThreatIntelligence",
    "adminConfirmedUserCompromised",
]
EARTH_RADIUS_KM = 6371.0
# Entra ID error codes of a wrong credential: what a password spray or brute force produces.
# MFA interrupts and prompts (50074, 50076, 50140, 500121, 50097, 50125…) are not: the password
# was right, or the user is being asked for more.
PASSWORD_FAILURE_CODES = frozenset({50126, 50053, 50055, 50056, 50034, 50057, 50064, 50144})
# Every detection Identity Protection can attach to a sign-in that says "not the usual user":
# what may pair a sign-in with an MFA registration right after it, whatever the level.
ANOMALY_RISK_EVENT_TYPES = [
    *DEFAULT_RISK_EVENT_TYPES,
    "unfamiliarFeatures",
    "unlikelyTravel",
    "impossibleTravel",
    "newCountry",
    "suspiciousBrowser",
    "suspiciousAPITraffic",
    "adminConfirmedUserCompromised",
]
# User agents of HTTP libraries, not browsers: what adversary-in-the-middle kits and token scripts
# present when they sign in with (or replay) a user's credentials. Matched as lower-case prefixes.
SCRIPTED_AGENTS = (
    "axios/",
    "node-fetch",
    "undici",
    "python-requests",
    "python-urllib",
    "python-httpx",
    "aiohttp",
    "go-http-client",
    "curl/",
    "wget/",
    "okhttp",
    "postmanruntime",
)
# Autonomous systems of hosting and VPS providers (DigitalOcean, Vultr, Linode, OVH, Hetzner,
# AWS, Google Cloud, M247, Contabo, Scaleway, Leaseweb, Hostinger, DataCamp, Tencent, Alibaba,
# Oracle, AlexHost, Clouvider, FranTech, ColoCrossing, QuadraNet, Interserver): people do not
# sign in from a datacenter, the phishing kits and proxies that replay their sessions do.
# Microsoft's own (8075) is left out: cloud PCs and Azure Virtual Desktop sign in from it.
HOSTING_ASNS = [
    "14061", "20473", "63949", "16276", "24940", "16509", "14618", "15169", "396982", "9009", "51167",
    "12876", "60781", "28753", "47583", "60068", "212238", "132203", "45102", "31898", "200019",
    "62240", "53667", "36352", "8100", "19318",
]  # fmt: skip
# Failures after the password was accepted: MFA required and never satisfied (50074 with no
# success after it), or MFA itself failed or was denied (500121). From a stranger's network,
# someone else holds the password.
MFA_STAGE_FAILURE_CODES = frozenset({50074, 500121})
DEVICE_CODE = "devicecode"
# Risk detections that mark where the user came from, not who it is: alone they are weak (an iCloud
# Private Relay or a VPN user is not compromised).
WEAK_RISK_TYPES = frozenset({"anonymizedipaddress", "unfamiliarfeatures", "newcountry"})
# Microsoft (an admin in Entra ID Protection) confirmed the account compromised: risk whatever the
# configured levels and types say, never dropped.
CONFIRMED_RISK_STATES = frozenset({"confirmedcompromised"})
CONFIRMED_RISK_TYPES = frozenset({"adminconfirmedusercompromised"})


def is_successful_signin(event: Event) -> bool:
    """A sign-in that got in: not failed, and not blocked by Conditional Access."""
    return event.kind == Event.Kind.SIGNIN and granted_access(event)


def is_interactive(event: Event) -> bool:
    """False only for a sign-in the source says was non-interactive (a client redeeming a token)."""
    return not non_interactive(event)


def risk_confirmed(state, types) -> bool:
    """Microsoft says the account is compromised: ``riskState`` confirmedCompromised or an
    ``adminConfirmedUserCompromised`` detection."""
    return str(state or "").lower() in CONFIRMED_RISK_STATES or bool(
        {str(kind).lower() for kind in types} & CONFIRMED_RISK_TYPES
    )


def is_password_failure(event: Event) -> bool:
    """A failed sign-in with a wrong-credential error (not an MFA interrupt or a policy block)."""
    return event.kind == Event.Kind.SIGNIN_FAILED and error_code(event) in PASSWORD_FAILURE_CODES


def scripted_agent(user_agent: str | None) -> str:
    """The HTTP library a user agent names (``axios/1.6.8``), or "" for browsers and apps."""
    agent = (user_agent or "").strip().lower()
    return (user_agent or "").strip()[:60] if agent.startswith(SCRIPTED_AGENTS) else ""


def error_code(event: Event) -> int | None:
    try:
        return int(attr(event, "error_code", default=None))
    except (TypeError, ValueError):
        return None


def is_mfa_stage_failure(event: Event) -> bool:
    """A failed sign-in whose password was right: it failed at the MFA step."""
    return event.kind == Event.Kind.SIGNIN_FAILED and error_code(event) in MFA_STAGE_FAILURE_CODES


def is_device_code(event: Event) -> bool:
    """Signed in with the device code flow (``authenticationProtocol`` ``deviceCode``)."""
    return str(attr(event, "authentication_protocol", default="")).lower() == DEVICE_CODE


def session_of(event: Event) -> str:
    """The Entra session id a sign-in belongs to ("" when the source gave none)."""
    return str(attr(event, "session_id", default="") or "").lower()


def unfamiliar_network(
    ip: str | None, asn: str | None, baseline: IdentityBaseline | None, *, before: datetime, min_history_days: int
) -> bool:
    """True when neither the address's range nor its autonomous system had a successful sign-in
    of the user before ``before``, and the user has ``min_history_days`` of sign-ins to judge by."""
    start = signin_history_start(baseline)
    if not ip or start is None or before - start < timedelta(days=min_history_days):
        return False
    return not known_before(baseline.ip_ranges, ip_range(ip), before) and not known_before(
        baseline.ip_ranges, asn, before
    )


def new_hosting_network(
    event: Event, baseline: IdentityBaseline | None, *, hosting: set[int], min_history_days: int
) -> str:
    """``"AS14061"`` when the sign-in came from a hosting provider's autonomous system (one of
    ``hosting``) the user never signed in from before, and the user has ``min_history_days`` of
    remembered networks to judge by; else "". A new home or mobile carrier is ordinary."""
    key = asn_key(event)
    if key is None or int(key[2:]) not in hosting or baseline is None:
        return ""
    if known_before(baseline.ip_ranges, key, event.occurred_at):
        return ""
    since = event.occurred_at.timestamp() - min_history_days * 86400
    history = any(name.startswith("AS") and first <= since for name, (first, _) in baseline.ip_ranges.items())
    return key if history else ""


def risk_is_weak(risk: dict) -> bool:
    """Low risk (or none) and only detections that say where the sign-in came from."""
    levels = set(risk["levels"].values())
    return not levels & {"medium", "high"} and all(t.lower() in WEAK_RISK_TYPES for t in risk["risk_event_types"])


def risk_levels(event: Event) -> dict[str, str]:
    return {
        "during_signin": str(attr(event, "risk_level", default="")).lower(),
        "aggregated": str(attr(event, "risk_level_aggregated", default="")).lower(),
    }


def risk_event_types(event: Event) -> list[str]:
    return attribute_list(attr(event, "risk_event_types"))


def source_risk(event: Event, *, levels: list[str], event_types: list[str]) -> dict | None:
    """What the source said about the sign-in's risk, when it crosses the configured levels."""
    state = str(attr(event, "risk_state", default="")).lower()
    if state in CLOSED_RISK_STATES:
        return None
    wanted_levels = {level.lower() for level in levels}
    reported = risk_levels(event)
    flagged_levels = {name: level for name, level in reported.items() if level in wanted_levels}
    wanted_types = {kind.lower() for kind in event_types} | CONFIRMED_RISK_TYPES
    flagged_types = [kind for kind in risk_event_types(event) if kind.lower() in wanted_types]
    if state in CONFIRMED_RISK_STATES and not flagged_types:
        flagged_types = ["confirmedCompromised"]  # the state alone: an admin confirmed it
    if not flagged_levels and not flagged_types:
        return None
    return {"levels": flagged_levels, "risk_event_types": flagged_types, "risk_state": state}


def describe_risk(risk: dict) -> str:
    parts = [f"rated {level} risk ({name.replace('_', ' ')})" for name, level in risk["levels"].items()]
    if risk["risk_event_types"]:
        parts.append(f"flagged {', '.join(risk['risk_event_types'])}")
    return "the sign-in source " + " and ".join(parts)


# --- risk detections (Entra ID Protection, ``identityProtection/riskDetections``) -----------------


def is_risk_detection(event) -> bool:
    return event.kind == Event.Kind.RISK_DETECTION


def detection_request_id(event: Event) -> str:
    """The request id of the sign-in a risk detection belongs to (the sign-in's Graph ``id``), or ""."""
    return str(attr(event, "request_id", default="") or "").lower()


def detection_risk(event: Event, *, levels: list[str], event_types: list[str]) -> dict | None:
    """``source_risk`` of a risk detection, with when Entra detected it (``detection_timing``,
    ``detected_at``); None for a dismissed, remediated or confirmed-safe detection."""
    risk = source_risk(event, levels=levels, event_types=event_types)
    if risk is None:
        return None
    level = risk["levels"].get("during_signin")  # a detection has one level, read as a sign-in's
    risk["levels"] = {"detection": level} if level else {}
    risk["timing"] = str(attr(event, "detection_timing", default="") or "")
    risk["detected_at"] = str(attr(event, "detected_at", default="") or "")
    return risk


def describe_detection(event: Event, risk: dict) -> str:
    """ "Entra ID Protection flagged attackerinTheMiddle (high risk), detected offline 5 hours after
    the sign-in" — the detection in words."""
    what = ", ".join(risk["risk_event_types"]) or str(attr(event, "risk_event_type", default="") or "a risk")
    level = next(iter(risk["levels"].values()), "")
    text = f"Entra ID Protection flagged {what}" + (f" ({level} risk)" if level else "")
    detected = risk.get("detected_at")
    if detected:
        hours = (datetime.fromisoformat(detected) - event.occurred_at).total_seconds() / 3600
        timing = risk.get("timing") or "later"
        if hours >= 1:
            text += f", detected {timing} {hours:.0f} hours after the activity"
    return text


def new_country(event: Event, baseline: IdentityBaseline | None, *, min_history_days: int) -> dict | None:
    """The country, when nothing earlier came from it and the user has enough sign-in history to judge."""
    country = (event.country or "").upper()
    if not country or baseline is None:
        return None
    start = signin_history_start(baseline)
    if start is None or event.occurred_at - start < timedelta(days=min_history_days):
        return None
    if known_before(baseline.countries, country, event.occurred_at):
        return None
    earlier = sorted(c for c, (first, _) in baseline.countries.items() if first < event.occurred_at.timestamp())
    return {"country": country, "known_countries": earlier, "history_since": start.isoformat()}


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The great-circle distance between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def distance_km(a: Event, b: Event) -> float:
    return haversine_km((a.latitude, a.longitude), (b.latitude, b.longitude))


def place(event: Event) -> dict:
    return {
        "at": event.occurred_at.isoformat(),
        "ip": event.ip,
        "city": event.city,
        "country": event.country,
        "latitude": event.latitude,
        "longitude": event.longitude,
    }


def where(event: Event) -> str:
    return ", ".join(part for part in (event.city, event.country) if part) or (event.ip or "an unknown place")


def hhmm(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")

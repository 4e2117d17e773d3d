"""Sign-in checks: new countries, impossible travel, risky or anonymiser IPs, spray then success,
legacy protocols, single-factor sign-ins and sign-ins that got past MFA. Each flags the sign-ins it rests on in
``ctx.risky_signins`` (the suspicious IPs the pivots follow)."""

import math
from functools import lru_cache

from alerts.activity.access import granted_access, non_interactive
from alerts.activity.addresses import ip_range
from alerts.activity.signins import (
    CLOSED_RISK_STATES,
    CONFIRMED_RISK_TYPES,
    DEVICE_CODE,
    MFA_STAGE_FAILURE_CODES,
    PASSWORD_FAILURE_CODES,
    WEAK_RISK_TYPES,
    scripted_agent,
    unfamiliar_network,
)
from alerts.baselines import asn_key, known_before
from alerts.detectors.signin_takeover import KIT_APPS, NETWORK_SETTLES, far_apart
from alerts.models import Event
from investigations.models import Finding
from investigations.playbooks.context import CheckResult, EventRow, PlaybookContext, check
from investigations.playbooks.text import plural, when

V = Finding.Verdict
MAX_EVENTS = 50  # events linked to one finding; the explanation gives the full count
TRAVEL_KMH = 900  # faster than an airliner
TRAVEL_MIN_KM = 500  # nearby hops are GeoIP noise
SPRAY_ACCOUNTS = 5  # distinct accounts failing from one IP before a success from it
BRUTE_FORCE_FAILURES = 10  # failures of this account from one IP before a success from it
ORG_EGRESS_ACCOUNTS = 10  # accounts signing in successfully from an address that make it the organisation's
RISKY_TYPES = {
    "anonymizedipaddress",
    "maliciousipaddress",
    "unfamiliarfeatures",
    "passwordspray",
    "suspiciousipaddress",
    "impossibletravel",
    "newcountry",
    "leakedcredentials",
    "investigationsthreatintelligence",
    "riskyip",
    "torip",
}
network = lru_cache(maxsize=65536)(ip_range)  # sign-ins repeat a handful of addresses
# Detections that say someone else holds the credentials or the session (an anonymiser alone does not).
SEVERE_TYPES = {
    "maliciousipaddress",
    "passwordspray",
    "leakedcredentials",
    "torip",
    "attackerinthemiddle",
    "anomaloustoken",
    "tokenissueranomaly",
    *CONFIRMED_RISK_TYPES,
}


def successes(ctx: PlaybookContext) -> list[EventRow]:
    """The sign-ins that got in: not failed, not blocked by Conditional Access."""
    return [event for event in ctx.of_kind(Event.Kind.SIGNIN) if granted_access(event)]


def risk_detections(ctx: PlaybookContext, signed_in: list[EventRow]) -> list[EventRow]:
    """Entra ID Protection's detections in the window that stand for access: not closed, and not on
    a sign-in that failed or Conditional Access blocked (the sign-in named by ``requestId``, when
    stored; a detection whose sign-in is not in the window, or that names none, counts)."""
    granted = {str(e.fact("request_id", default="")).lower() for e in signed_in}
    refused = {
        str(e.fact("request_id", default="")).lower() for e in ctx.of_kind(Event.Kind.SIGNIN, Event.Kind.SIGNIN_FAILED)
    } - granted
    return [
        event
        for event in ctx.of_kind(Event.Kind.RISK_DETECTION)
        if str(event.fact("risk_state", default="")).lower() not in CLOSED_RISK_STATES
        and str(event.fact("request_id", default="")).lower() not in refused - {""}
    ]


def _flag(ctx: PlaybookContext, events: list[EventRow]) -> None:
    known = {event.id for event in ctx.risky_signins}
    ctx.risky_signins.extend(event for event in events if event.id not in known)


def _place(event: EventRow) -> str:
    return ", ".join(part for part in (event.city, event.country) if part) or "an unknown place"


@check("signins.new_country", "Sign-ins from countries never seen for this user")
def new_country(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    countries = ctx.baseline.countries if ctx.baseline else {}
    seen: set[str] = set()
    new: list[EventRow] = []
    for event in successes(ctx):
        country = (event.country or "").upper()
        if not country or non_interactive(event):
            continue  # a token redeemed (non-interactive) alone does not break the user's habit
        familiar = country in seen or known_before(countries, country, event.occurred_at)
        earlier = seen or any(first < event.occurred_at.timestamp() for first, _ in countries.values())
        if not familiar and earlier:  # the very first country of a new user is home
            new.append(event)
        seen.add(country)
    if not new:
        known = ", ".join(sorted(seen)) or "none seen"
        result.explanation = f"Every successful sign-in came from a country this user knew before ({known})."
        return result
    names = sorted({_place(event) for event in new})
    result.verdict = V.SUSPICIOUS
    result.weight = 40
    result.events = new[:MAX_EVENTS]
    result.headline = f"signed in from {', '.join(names[:3])} for the first time"
    result.explanation = (
        f"{plural(len(new), 'successful sign-in')} from a country never seen for this user before: "
        f"{', '.join(names[:5])} (first {when(new[0].occurred_at)}, IP {new[0].ip or 'unknown'})."
    )
    result.data = {"countries": sorted({e.country.upper() for e in new}), "ips": sorted({e.ip for e in new if e.ip})}
    _flag(ctx, new)
    return result


def _km(a: EventRow, b: EventRow) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(min(1.0, h)))


@check("signins.impossible_travel", "Impossible travel between sign-ins")
def impossible_travel(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    located = [e for e in successes(ctx) if e.latitude is not None and e.longitude is not None]
    hops = []
    for before, after in zip(located, located[1:], strict=False):
        km = _km(before, after)
        hours = max((after.occurred_at - before.occurred_at).total_seconds() / 3600, 1 / 60)
        if km >= TRAVEL_MIN_KM and km / hours > TRAVEL_KMH:
            hops.append((before, after, km, km / hours))
    if not hops:
        result.explanation = (
            f"No two consecutive sign-ins ({len(located)} located) are further apart than travel allows."
        )
        return result
    before, after, km, speed = max(hops, key=lambda hop: hop[3])
    result.verdict = V.SUSPICIOUS
    result.weight = 40
    result.events = [event for hop in hops[: MAX_EVENTS // 2] for event in hop[:2]]
    minutes = (after.occurred_at - before.occurred_at).total_seconds() / 60
    result.headline = f"appeared in {_place(before)} and {_place(after)} {minutes:.0f} minutes apart"
    result.explanation = (
        f"Signed in from {_place(before)} {when(before.occurred_at)} and from {_place(after)} {minutes:.0f} minutes "
        f"later: {km:,.0f} km at {speed:,.0f} km/h, faster than any flight ({plural(len(hops), 'such hop')})."
    )
    result.data = {"hops": len(hops), "max_speed_kmh": round(speed), "ips": sorted({h[1].ip for h in hops if h[1].ip})}
    _flag(ctx, [hop[1] for hop in hops])
    return result


def _risk(event) -> tuple[str, set[str]]:
    level = str(event.fact("risk_level", "riskLevelDuringSignIn", default="")).lower()
    aggregated = str(event.fact("risk_level_aggregated", "riskLevelAggregated", default="")).lower()
    types = event.fact("risk_event_types", "riskEventTypes_v2", "riskEventTypes", default=[])
    types = {str(t) for t in (types if isinstance(types, list) else [types])}
    worst = "high" if "high" in (level, aggregated) else "medium" if "medium" in (level, aggregated) else level
    return worst, types


def _lower(values: set[str]) -> set[str]:
    return {value.lower() for value in values}


@check("signins.risky_ip", "Risky or anonymiser sign-ins reported by the source")
def risky_ip(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    """The sign-ins Entra rated risky, and Entra ID Protection's detections in the window (offline
    ones arrive hours after the sign-in they name): each flagged like a risky sign-in."""
    risky, severe = [], []
    signed_in = successes(ctx)
    for event in [*signed_in, *risk_detections(ctx, signed_in)]:
        if str(event.fact("risk_state", "riskState", default="")).lower() in CLOSED_RISK_STATES:
            continue  # an admin dismissed or remediated it: no longer risk
        level, types = _risk(event)
        if (
            level in ("medium", "high")
            or _lower(types) & (RISKY_TYPES | SEVERE_TYPES)
            or event.fact("is_anonymous", "anonymizer") is True
        ):
            risky.append(event)
            if level == "high" or _lower(types) & SEVERE_TYPES:
                severe.append(event)
    if not risky:
        result.explanation = "No successful sign-in was rated risky or came from an anonymiser."
        return result
    shown = severe[0] if severe else risky[0]
    level, types = _risk(shown)
    weak = not severe and all(
        _risk(e)[0] not in ("medium", "high") and _lower(_risk(e)[1]) <= WEAK_RISK_TYPES for e in risky
    )
    result.verdict = V.MALICIOUS if severe else V.SUSPICIOUS
    result.weight = 45 if severe else 15 if weak else 30
    result.events = risky[:MAX_EVENTS]
    reasons = ", ".join(sorted(types)) or f"{level} risk"
    result.headline = f"signed in from a risky address ({shown.ip}, {reasons})"
    detected = sum(1 for e in risky if e.kind == Event.Kind.RISK_DETECTION)
    counted = plural(len(risky) - detected, "successful sign-in") + (
        f" and {plural(detected, 'risk detection')}" if detected else ""
    )
    result.explanation = (
        f"{counted} rated risky by Entra ID; the worst from {shown.ip or 'an unknown address'} "
        f"({_place(shown)}) {when(shown.occurred_at)}: {reasons}."
    )
    result.data = {"ips": sorted({e.ip for e in risky if e.ip}), "severe": len(severe)}
    _flag(ctx, risky)
    return result


@check("signins.spray_then_success", "Password spray or brute force, then a success")
def spray_then_success(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    """Wrong passwords for many accounts (or many for this one) from an address, then a success there.

    Only wrong-credential failures count (never MFA interrupts), only those before the success, and
    never from an address where the organisation signs in (accounts that mistype and then sign in
    behind an office NAT are users, and many accounts signing in there make it the office).
    """
    failures = [
        e for e in ctx.of_kind(Event.Kind.SIGNIN_FAILED) if e.ip and e.fact("error_code") in PASSWORD_FAILURE_CODES
    ]
    hits = []
    for event in successes(ctx):
        if not event.ip or ctx.signin_accounts_by_ip.get(event.ip, 0) >= ORG_EGRESS_ACCOUNTS:
            continue
        accounts = ctx.failures_by_ip.get(event.ip, 0)
        own = sum(1 for f in failures if f.ip == event.ip and f.occurred_at <= event.occurred_at)
        _, types = _risk(event)
        if accounts >= SPRAY_ACCOUNTS or own >= BRUTE_FORCE_FAILURES or "passwordspray" in _lower(types):
            hits.append((event, accounts, own))
    if not hits:
        result.explanation = (
            f"{plural(len(failures), 'wrong password')} in the window, none followed by a success from a spraying "
            "address."
        )
        return result
    event, accounts, own = hits[0]
    result.verdict = V.MALICIOUS
    result.weight = 50
    result.events = [hit[0] for hit in hits[:MAX_EVENTS]]
    result.headline = f"was broken into from {event.ip} after a password spray"
    result.explanation = (
        f"{event.ip} failed to sign in to {plural(accounts, 'account')} ({plural(own, 'failure')} against this user), "
        f"then signed in successfully as this user {when(event.occurred_at)}."
    )
    result.data = {"ips": sorted({hit[0].ip for hit in hits}), "accounts_sprayed": accounts}
    _flag(ctx, [hit[0] for hit in hits])
    return result


@check("signins.legacy_protocol", "Sign-ins over legacy protocols")
def legacy_protocol(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    legacy = [e for e in successes(ctx) if e.fact("legacy_protocol") is True]
    if not legacy:
        result.explanation = "No successful sign-in used a legacy protocol (IMAP, POP, SMTP AUTH, ActiveSync…)."
        return result
    clients = sorted({str(e.fact("client_app", default="") or e.app) for e in legacy})
    result.verdict = V.SUSPICIOUS
    result.weight = 20
    result.events = legacy[:MAX_EVENTS]
    result.headline = f"used legacy protocols ({', '.join(clients[:3])})"
    result.explanation = (
        f"{plural(len(legacy), 'successful sign-in')} over {', '.join(clients[:5])}: legacy protocols cannot do "
        f"multi-factor authentication, so a stolen password is enough."
    )
    result.data = {"clients": clients, "ips": sorted({e.ip for e in legacy if e.ip})}
    return result


@check("signins.single_factor", "Single-factor sign-ins from unfamiliar networks")
def single_factor(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    ranges = ctx.baseline.ip_ranges if ctx.baseline else {}
    seen: set[str] = set()
    found = []
    for event in successes(ctx):
        where = network(event.ip)
        requirement = str(event.fact("authentication_requirement", default="")).lower()
        familiar = where in seen or known_before(ranges, where, event.occurred_at)
        if requirement.startswith("singlefactor") and where and not familiar:
            found.append(event)
        if where:
            seen.add(where)
    if not found:
        result.explanation = "Every single-factor sign-in, if any, came from a network this user normally uses."
        return result
    result.verdict = V.SUSPICIOUS
    result.weight = 20
    result.events = found[:MAX_EVENTS]
    result.headline = "signed in with a password alone from an unfamiliar network"
    result.explanation = (
        f"{plural(len(found), 'sign-in')} with a password only (no second factor) from networks not seen for this "
        f"user before, first from {found[0].ip} {when(found[0].occurred_at)}."
    )
    result.data = {"ips": sorted({e.ip for e in found if e.ip})}
    return result


@check("signins.mfa_bypass", "Sign-ins that got past MFA: kit relays, replayed sessions, device codes")
def mfa_bypass(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    """What today's takeovers leave in the sign-in log (``alerts.detectors.signin_takeover``): a
    phishing kit's HTTP library signing in to Office, one session used from two networks far
    apart, a first device-code sign-in, the right password with MFA failing from a stranger's
    network. The first two mean someone else holds the session."""
    signed_in = successes(ctx)
    kits = [e for e in signed_in if scripted_agent(e.user_agent) and _kit_app(e)]
    replays: list[EventRow] = []
    by_session: dict[str, list[EventRow]] = {}
    for event in signed_in:
        session = str(event.fact("session_id", default="")).lower()
        if not session:
            continue
        for other in by_session.setdefault(session, []):
            if network(other.ip) != network(event.ip) and far_apart(other, event, TRAVEL_MIN_KM):
                replays.extend(e for e in (other, event) if e not in replays)
        by_session[session].append(event)
    codes = [e for e in signed_in if str(e.fact("authentication_protocol", default="")).lower() == DEVICE_CODE]
    stranger = [e for e in ctx.of_kind(Event.Kind.SIGNIN_FAILED) if _mfa_failed_from_stranger(ctx, e, signed_in)]
    found = {
        "a phishing kit's client": kits,
        "a session replayed from another network": replays,
        "a device-code sign-in": codes[:1],
        "the right password and MFA failing from a stranger's network": stranger,
    }
    found = {what: events for what, events in found.items() if events}
    if not found:
        result.explanation = "No sign-in came through a phishing kit, a replayed session, a device code or failed MFA."
        return result
    severe = bool(kits or replays)
    result.verdict = V.MALICIOUS if severe else V.SUSPICIOUS
    result.weight = 45 if severe else 30
    result.events = [event for events in found.values() for event in events][:MAX_EVENTS]
    first = result.events[0]
    result.headline = f"was signed in to through {next(iter(found))} ({first.ip})"
    parts = [
        f"{what} ({plural(len(events), 'sign-in')}, first from {events[0].ip} {when(events[0].occurred_at)})"
        for what, events in found.items()
    ]
    result.explanation = f"Signs of a sign-in that got past MFA: {'; '.join(parts)}."
    result.data = {"ips": sorted({e.ip for e in result.events if e.ip}), "signals": sorted(found)}
    _flag(ctx, [event for event in (*kits, *replays, *codes[:1])])
    return result


def _kit_app(event: EventRow) -> bool:
    wanted = {app.lower() for app in KIT_APPS}
    return bool({(event.app or "").lower(), str(event.fact("app_id", default="")).lower()} & wanted)


def _mfa_failed_from_stranger(ctx: PlaybookContext, event: EventRow, signed_in: list[EventRow]) -> bool:
    try:
        code = int(event.fact("error_code", default=0) or 0)
    except (TypeError, ValueError):
        return False
    if code not in MFA_STAGE_FAILURE_CODES:
        return False
    if not unfamiliar_network(event.ip, asn_key(event), ctx.baseline, before=event.occurred_at, min_history_days=3):
        return False
    return not any(
        network(other.ip) == network(event.ip) and abs(other.occurred_at - event.occurred_at) <= NETWORK_SETTLES
        for other in signed_in
    )


CHECKS = [new_country, impossible_travel, risky_ip, spray_then_success, legacy_protocol, single_factor, mfa_bypass]

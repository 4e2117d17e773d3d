"""The sign-in signals of today's MFA-bypassing takeovers, for ``suspicious_signin``.

- a device-code sign-in by a user who never signs in that way (device-code phishing);
- a sign-in to OfficeHome / Office with an HTTP library's user agent (an adversary-in-the-middle
  kit relaying the real sign-in page);
- one session id used from two networks far apart (a stolen session cookie replayed);
- the password accepted but MFA not passed (50074 left unsatisfied, 500121) from a network the
  user never signed in from, with no success from that network around it (someone else holds
  the password).

Each function returns ``Signal`` or None; the detector turns signals into reasons.
"""

from dataclasses import dataclass
from datetime import timedelta

from alerts.activity.addresses import ip_range
from alerts.activity.signins import (
    distance_km,
    error_code,
    hhmm,
    is_device_code,
    is_mfa_stage_failure,
    is_successful_signin,
    scripted_agent,
    session_of,
    unfamiliar_network,
    where,
)
from alerts.baselines import asn_key
from alerts.detectors.base import DetectionContext
from alerts.models import Event, IdentityBaseline

# OfficeHome and the Office apps AiTM kits proxy (by name, or by app id when only the audit
# copy is known).
KIT_APPS = [
    "OfficeHome",
    "Office 365",
    "Microsoft Office",
    "Office365 Shell WCSS-Client",
    "4765445b-32c6-49b0-83e6-1d93765276ca",
    "d3590ed6-52b3-4102-aeff-aad2292ab01c",
    "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7",
]
NETWORK_SETTLES = timedelta(hours=1)  # a success from the same network this close means the user got in


@dataclass
class Signal:
    code: str
    sentence: str
    evidence: dict
    events: list[Event]


def device_code_outside_habit(ctx: DetectionContext, event: Event) -> Signal | None:
    if not is_successful_signin(event) or not is_device_code(event):
        return None
    earlier = [at for at, pk in ctx.device_code_signins.get(event.identity_id, ()) if at < event.occurred_at]
    if earlier:
        return None
    app = event.app or "an app"
    return Signal(
        f"device_code:{event.pk}",
        f"Signed in to {app} with a device code from {where(event)} ({event.ip}) at {hhmm(event.occurred_at)}: "
        "this user never signed in that way before, and device-code phishing abuses exactly this flow.",
        {"ip": event.ip, "app": event.app, "at": event.occurred_at.isoformat()},
        [event],
    )


def scripted_kit_client(event: Event, apps: list[str]) -> Signal | None:
    if not is_successful_signin(event):
        return None
    agent = scripted_agent(event.user_agent)
    wanted = {app.lower() for app in apps}
    app_id = str((event.attributes or {}).get("app_id") or "").lower()
    if not agent or not ({(event.app or "").lower(), app_id} & wanted):
        return None
    return Signal(
        f"kit_client:{event.ip}",
        f"Signed in to {event.app} from {where(event)} ({event.ip}) with {agent}, an HTTP library and not a "
        "browser: how adversary-in-the-middle phishing kits relay a sign-in.",
        {"ip": event.ip, "app": event.app, "user_agent": agent},
        [event],
    )


def session_replayed(ctx: DetectionContext, event: Event, min_km: float) -> Signal | None:
    session = session_of(event)
    if not session or not is_successful_signin(event):
        return None
    for other in ctx.signins_by_session.get(session, ()):
        if other.pk == event.pk or other.identity_id != event.identity_id or not is_successful_signin(other):
            continue
        if ip_range(other.ip) == ip_range(event.ip):
            continue
        apart = far_apart(other, event, min_km)
        if apart is None:
            continue
        first, second = sorted((other, event), key=lambda e: (e.occurred_at, e.pk))
        return Signal(
            f"token_replay:{first.pk}:{second.pk}",
            f"One session was used from {where(first)} ({first.ip}) at {hhmm(first.occurred_at)} and from "
            f"{where(second)} ({second.ip}) at {hhmm(second.occurred_at)}, {apart}: a stolen session token "
            "replayed.",
            {"session_id": session, "ips": [first.ip, second.ip], "apart": apart, "min_km": min_km},
            [first, second],
        )
    return None


def far_apart(a: Event, b: Event, min_km: float) -> str | None:
    """How far apart two sign-ins were, when far enough: by coordinates, else by country."""
    if None not in (a.latitude, a.longitude, b.latitude, b.longitude):
        km = distance_km(a, b)
        return f"{round(km):,} km apart" if km >= min_km else None
    if a.country and b.country and a.country != b.country:
        return "in different countries"
    return None


def mfa_failed_from_stranger(ctx: DetectionContext, event: Event, min_history_days: int) -> Signal | None:
    if not from_stranger(ctx.baselines.get(event.identity_id), event, min_history_days):
        return None
    network = ip_range(event.ip)
    settled = any(
        is_successful_signin(other) and ip_range(other.ip) == network
        for other in ctx.events_around(event.identity_id, {Event.Kind.SIGNIN}, [event], NETWORK_SETTLES)
    )
    if settled:
        return None  # the user, on a new network (a hotel), who then passed MFA
    code = error_code(event)
    return Signal(
        f"mfa_failed:{event.ip}",
        f"The password was accepted but MFA was not passed (error {code}) from {where(event)} ({event.ip}) at "
        f"{hhmm(event.occurred_at)}, a network this user never signed in from: someone else has the password.",
        {"ip": event.ip, "error_code": code, "at": event.occurred_at.isoformat()},
        [event],
    )


def from_stranger(baseline: IdentityBaseline | None, event: Event, min_history_days: int) -> bool:
    """An MFA-stage failure from a network (range and autonomous system) the user never signed in
    from; whether a success from there followed needs the sign-ins around it."""
    return is_mfa_stage_failure(event) and unfamiliar_network(
        event.ip, asn_key(event), baseline, before=event.occurred_at, min_history_days=min_history_days
    )

"""Phones and devices added during the suspicious period: an intruder's own mail client keeps syncing.

Exchange records a new ActiveSync partnership as ``Add-MobileDevice``; Entra ID records a device
joined to the account as ``Register device``. Either after a risky sign-in is suspicious; each
partnership is proposed for ``remove_mobile_device`` (an Entra registered device is shown for the
analyst to review: no action here deletes devices from the directory).
"""

from datetime import timedelta

from alerts.models import Event
from investigations.models import Action, Finding
from investigations.playbooks.context import CheckResult, PlaybookContext, check
from investigations.playbooks.proposal import Proposal
from investigations.playbooks.text import plural, quote, when
from m365.times import iso_z

V = Finding.Verdict
PARTNERSHIP = "add-mobiledevice"
REGISTRATION = "register device"
SYNC_MARGIN = timedelta(minutes=10)  # the partnership's FirstSyncTime and its audit record's time differ a little


def _device(event) -> str:
    return str(event.fact("device_model", "DeviceModel", "display_name") or event.target or "a device")


@check("devices", "Phones and devices added during the suspicious period")
def devices(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    added = [
        e for e in ctx.of_kind(Event.Kind.OTHER) if (e.operation or "").strip().lower() in (PARTNERSHIP, REGISTRATION)
    ]
    suspicious = [e for e in added if ctx.risky_signins and e.occurred_at >= ctx.suspicious_since]
    if not suspicious:
        result.explanation = (
            f"{plural(len(added), 'device')} added in the window, none after a risky sign-in."
            if added
            else "No phone or device was added to the account in the window."
        )
        result.events = added[:10]
        return result
    result.verdict = V.SUSPICIOUS
    result.weight = 30
    result.events = suspicious[:20]
    first = suspicious[0]
    result.headline = f"added {quote(_device(first), 40)} {when(first.occurred_at)}, after a risky sign-in"
    result.explanation = (
        "After the risky sign-in the account gained "
        + "; ".join(f"{quote(_device(e), 40)} ({e.operation}, {when(e.occurred_at)})" for e in suspicious[:5])
        + ". A partnership the user did not set up keeps syncing mail after a password reset."
    )
    result.data = {"devices": [{"name": _device(e), "operation": e.operation} for e in suspicious]}
    for event in suspicious:
        if (event.operation or "").strip().lower() != PARTNERSHIP:
            continue
        result.proposals.append(
            Proposal(
                kind=Action.Kind.REMOVE_MOBILE_DEVICE,
                target=f"{_device(event)} added {when(event.occurred_at)}",
                reason=f"An ActiveSync partnership ({quote(_device(event), 40)}) was added after a risky sign-in.",
                parameters={
                    "mailbox": ctx.upn,
                    "device_id": str(event.fact("device_id", "DeviceId") or ""),
                    "first_synced_after": iso_z(event.occurred_at - SYNC_MARGIN),
                    "first_synced_before": iso_z(event.occurred_at + SYNC_MARGIN),
                },
            )
        )
    return result


CHECKS = [devices]

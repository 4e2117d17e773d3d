"""Microsoft's own word: an admin confirmed the user compromised, or a high-severity alert names them.

Entra ID Protection records an admin's confirmation on the user's risk (``riskState``
``confirmedCompromised``, detection ``adminConfirmedUserCompromised``), on the sign-ins and as a
risk detection of its own (``risk_detection`` events, from ``identityProtection/riskDetections``,
read whatever their risk level, offline or not); Defender and Microsoft
365 raise alerts such as "User restricted from sending email". Either is evidence, on its own,
that someone other than the user controls the account.
"""

from alerts.activity.signins import risk_confirmed
from alerts.models import Event
from investigations.models import Finding
from investigations.playbooks.context import CheckResult, PlaybookContext, check
from investigations.playbooks.text import plural, quote, when

V = Finding.Verdict
CLOSED_ALERT_STATUSES = {"resolved", "dismissed"}


def _confirmed(event) -> bool:
    types = event.fact("risk_event_types", default=[])
    return risk_confirmed(event.fact("risk_state", default=""), types if isinstance(types, list) else [types])


def _high_alert(event) -> bool:
    severity = str(event.fact("severity", default="")).lower()
    status = str(event.fact("status", default="")).lower()
    return severity == "high" and status not in CLOSED_ALERT_STATUSES


@check("microsoft", "Microsoft's own verdict on the account")
def microsoft(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    confirmations = [e for e in ctx.of_kind(Event.Kind.SIGNIN, Event.Kind.RISK_DETECTION) if _confirmed(e)]
    alerts = [e for e in ctx.of_kind(Event.Kind.EXTERNAL_ALERT) if _high_alert(e)]
    if not confirmations and not alerts:
        result.explanation = "No admin confirmed this user compromised and no open high-severity alert names them."
        return result
    result.verdict = V.MALICIOUS
    result.weight = 60
    result.events = [*confirmations, *alerts][:50]
    if confirmations:
        result.headline = "was confirmed compromised by an admin in Entra ID Protection"
        result.explanation = (
            f"An admin confirmed this user compromised ({when(confirmations[0].occurred_at)}, "
            f"{plural(len(confirmations), 'sign-in or risk detection', 'sign-ins or risk detections')} carry the "
            "confirmation)."
        )
    else:
        title = str(alerts[0].fact("title", default="") or alerts[0].subject or "an alert")
        result.headline = f"was named in a high-severity alert ({quote(title, 60)})"
        result.explanation = (
            f"{plural(len(alerts), 'open high-severity alert')} from Microsoft name this user, first "
            f"{quote(title, 80)} {when(alerts[0].occurred_at)}."
        )
    return result


CHECKS = [microsoft]

"""MFA changes soon after a risky sign-in: an attacker registering their own authenticator.

Each registration after a risky sign-in is proposed for ``remove_mfa_method``: the method
registered between that sign-in and a little after the audit record (Entra stamps the method's
``createdDateTime`` when it is registered; the record may be written a few minutes later).
"""

from datetime import timedelta

from alerts.models import Event
from investigations.models import Action, Finding
from investigations.playbooks.context import CheckResult, PlaybookContext, check
from investigations.playbooks.proposal import Proposal
from investigations.playbooks.text import plural, when
from m365.times import iso_z

V = Finding.Verdict
SOON = timedelta(hours=24)
RECORD_DELAY = timedelta(minutes=10)  # how much later than the registration its audit record may be stamped


@check("mfa", "MFA methods changed after a risky sign-in")
def mfa_changes(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    # An administrator's change on the user (a helpdesk reset) is not the user's own registration.
    changes = [
        c for c in ctx.of_kind(Event.Kind.MFA_METHOD_CHANGED) if str(c.fact("actor") or ctx.upn).lower() == ctx.upn
    ]
    if not changes:
        result.explanation = "No MFA method was registered, changed or removed in the window."
        return result
    after_risk = []
    for change in changes:
        risky = [s for s in ctx.risky_signins if s.occurred_at <= change.occurred_at <= s.occurred_at + SOON]
        if risky:
            after_risk.append((change, risky[-1]))
    if not after_risk:
        result.events = changes[:10]
        result.explanation = (
            f"{plural(len(changes), 'MFA change')} in the window, none within {SOON.seconds // 3600 or 24} hours "
            "of a risky sign-in."
        )
        return result
    change, signin = after_risk[0]
    minutes = (change.occurred_at - signin.occurred_at).total_seconds() / 60
    result.verdict = V.MALICIOUS
    result.weight = 45
    result.events = [event for pair in after_risk for event in pair][:20]
    result.headline = f"changed its MFA methods {minutes:.0f} minutes after a risky sign-in"
    result.explanation = (
        f"MFA methods were changed ({change.operation or 'security info updated'}) {when(change.occurred_at)}, "
        f"{minutes:.0f} minutes after the risky sign-in from {signin.ip}: the usual way an attacker keeps access."
    )
    result.data = {"changes": len(after_risk)}
    for change, signin in after_risk:
        if "delete" in (change.operation or "").lower() or change.fact("methods_removed"):
            continue  # a removal leaves nothing to remove
        result.proposals.append(
            Proposal(
                kind=Action.Kind.REMOVE_MFA_METHOD,
                target=f"MFA method registered {when(change.occurred_at)}",
                reason=f"Registered {when(change.occurred_at)}, after the risky sign-in from {signin.ip}.",
                parameters={
                    "registered_after": iso_z(signin.occurred_at),
                    "registered_before": iso_z(change.occurred_at + RECORD_DELAY),
                },
            )
        )
    return result


CHECKS = [mfa_changes]

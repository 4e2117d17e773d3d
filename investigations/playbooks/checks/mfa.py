"""MFA changes soon after a risky sign-in: an attacker registering their own authenticator.

Each registration after a risky sign-in is proposed for ``remove_mfa_method``: the method
registered between that sign-in and a little after the audit record (Entra stamps the method's
``createdDateTime`` when it is registered; the record may be written a few minutes later).

The methods the live read finds are judged by the same rule on their registration time, so a
method registered after the risky sign-in is found even when its audit record never arrived.
"""

from datetime import datetime, timedelta

from alerts.models import Event
from investigations.connectors.state import StateKind
from investigations.models import Action, Finding
from investigations.playbooks.context import CheckResult, EventRow, PlaybookContext, check
from investigations.playbooks.proposal import Proposal
from investigations.playbooks.text import plural, quote, when
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
    after_risk = [(change, signin) for change in changes if (signin := _risky_before(ctx, change.occurred_at))]
    live = []
    for item in ctx.live.items(StateKind.AUTH_METHOD):
        signin = _risky_before(ctx, item.created_at)
        verdict = V.MALICIOUS if signin else V.CLEAN
        ctx.note_item(
            kind=item.kind, key=item.key, name=item.name, origin="live", verdict=verdict, created_at=item.created_at
        )
        if signin:
            live.append((item, signin))
    if not after_risk and live:
        item, signin = live[0]
        minutes = (item.created_at - signin.occurred_at).total_seconds() / 60
        result.verdict = V.MALICIOUS
        result.weight = 45
        result.events = [signin for _, signin in live][:20]
        result.headline = f"registered an MFA method {minutes:.0f} minutes after a risky sign-in"
        result.explanation = (
            f"The method {quote(item.name, 60)} was registered {when(item.created_at)}, {minutes:.0f} minutes after "
            f"the risky sign-in from {signin.ip}: the usual way an attacker keeps access. It exists now; its audit "
            "record is not in the window."
        )
        result.data = {"changes": len(live), "methods": [i.name for i, _ in live]}
        return result
    if not changes:
        result.explanation = "No MFA method was registered, changed or removed in the window." + _not_read(ctx)
        return result
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


def _risky_before(ctx: PlaybookContext, at: datetime | None) -> EventRow | None:
    """The last risky sign-in at most ``SOON`` before ``at``."""
    if at is None:
        return None
    risky = [s for s in ctx.risky_signins if s.occurred_at <= at <= s.occurred_at + SOON]
    return risky[-1] if risky else None


def _not_read(ctx: PlaybookContext) -> str:
    if ctx.live.read(StateKind.AUTH_METHOD):
        return ""
    return " " + ctx.live.not_read_sentence("authentication methods", StateKind.AUTH_METHOD)


CHECKS = [mfa_changes]

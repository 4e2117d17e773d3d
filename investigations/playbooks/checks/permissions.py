"""Mailbox and send-as permissions: delegations this user granted itself or gave away.

The adapters file a delegation under the mailbox's owner, with the ``actor`` who ran the
cmdlet and the ``delegate`` who got the right; the context loads every delegation this user
owns, performed or received, so a user granting itself access to the CFO's mailbox is seen
from its own investigation.
"""

from alerts.models import Event
from investigations.models import Action, Finding
from investigations.playbooks.context import CheckResult, EventRow, PlaybookContext, check
from investigations.playbooks.proposal import Proposal
from investigations.playbooks.text import sentence

V = Finding.Verdict


def _grant(ctx: PlaybookContext, event: EventRow) -> dict:
    rights = event.fact("access_rights") or []
    rights = [str(r) for r in (rights if isinstance(rights, list) else [rights])]
    if not rights:
        rights = ["SendAs" if event.kind == Event.Kind.SEND_AS_PERMISSION_ADDED else "FullAccess"]
    return {
        "mailbox": str(event.fact("mailbox") or (ctx.upn if event.identity_id == ctx.identity.pk else "")).lower(),
        "delegate": str(event.fact("delegate") or "").lower(),
        "actor": str(event.fact("actor") or "").lower(),
        "rights": rights,
        "own_mailbox": event.identity_id == ctx.identity.pk,
    }


def _judge(ctx: PlaybookContext, grant: dict) -> tuple[str, str]:
    me, delegate, actor = ctx.upn, grant["delegate"], grant["actor"]
    rights = "/".join(grant["rights"])
    if actor == me and delegate == me and not grant["own_mailbox"]:
        return V.MALICIOUS, f"gave itself {rights} on {grant['mailbox'] or 'another mailbox'}"
    if grant["own_mailbox"] and actor in (me, ""):
        if delegate and not ctx.is_internal(delegate):
            return V.MALICIOUS, f"gave {delegate}, outside the organisation, {rights} on its own mailbox"
        return V.SUSPICIOUS, f"gave {delegate or 'someone'} {rights} on its own mailbox (owners rarely do this)"
    if actor == me and ctx.risky_signins:
        return V.SUSPICIOUS, f"gave {delegate} {rights} on {grant['mailbox']} after a risky sign-in"
    return V.CLEAN, f"{actor or 'an administrator'} gave {delegate} {rights} on {grant['mailbox']}"


@check("permissions", "Mailbox and send-as permissions granted")
def permissions(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    if not ctx.delegations:
        result.explanation = "No mailbox or send-as permission involving this user was granted in the window."
        return result
    judged = [(event, _grant(ctx, event)) for event in ctx.delegations]
    judged = [(event, grant, *_judge(ctx, grant)) for event, grant in judged]
    bad = [item for item in judged if item[2] != V.CLEAN]
    if not bad:
        result.events = [item[0] for item in judged]
        result.explanation = sentence("; ".join(item[3] for item in judged[:5])) + ": ordinary delegation."
        return result
    result.verdict = V.MALICIOUS if any(item[2] == V.MALICIOUS for item in bad) else V.SUSPICIOUS
    result.weight = 45
    result.events = [item[0] for item in bad]
    result.headline = bad[0][3]
    result.explanation = "This user " + "; ".join(item[3] for item in bad[:5]) + "."
    result.data = {"grants": [{**grant, "verdict": verdict} for _, grant, verdict, _ in bad]}
    for _, grant, _, why in bad:
        if not grant["delegate"] or not grant["mailbox"]:
            continue
        rights = "/".join(grant["rights"])
        result.proposals.append(
            Proposal(
                kind=Action.Kind.REMOVE_MAILBOX_PERMISSION,
                target=f"{rights} of {grant['delegate']} on {grant['mailbox']}",
                reason=f"This user {why}.",
                parameters={
                    "mailbox": grant["mailbox"],
                    "delegate": grant["delegate"],
                    "access_rights": grant["rights"],
                },
            )
        )
    return result


CHECKS = [permissions]

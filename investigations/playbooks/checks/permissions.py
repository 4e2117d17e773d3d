"""Mailbox and send-as permissions: delegations this user granted itself or gave away.

The adapters file a delegation under the mailbox's owner, with the ``actor`` who ran the
cmdlet and the ``delegate`` who got the right; the context loads every delegation this user
owns, performed or received, so a user granting itself access to the CFO's mailbox is seen
from its own investigation.

The live read adds the delegations on the user's own mailbox as they are now (FullAccess,
SendAs, SendOnBehalf), judged by the same rules. Who granted a standing delegation without a
record in the window is unknown, so only the delegate's address can condemn it: a colleague
(an assistant) is ordinary, an outsider is not.
"""

from alerts.models import Event
from investigations.connectors.state import StateKind
from investigations.models import Action, Finding
from investigations.playbooks.context import CheckResult, EventRow, PlaybookContext, check
from investigations.playbooks.proposal import Proposal
from investigations.playbooks.text import sentence, stamp

V = Finding.Verdict
LIVE_KINDS = (StateKind.MAILBOX_PERMISSION, StateKind.SEND_AS, StateKind.SEND_ON_BEHALF)


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


def _live_grants(ctx: PlaybookContext, logged: set[tuple[str, str]]) -> list[tuple[None, dict, str, str]]:
    """Delegations on the user's own mailbox that the live read finds and the window has no record of."""
    judged = []
    for _, row in ctx.live_records(*LIVE_KINDS):
        grant = {**_grant(ctx, row), "origin": "live", "in_place": True}
        if (grant["mailbox"], grant["delegate"]) in logged:
            continue
        since = f"it exists now; no record of it since {stamp(ctx.window_start)}"
        verdict, why = _judge(ctx, grant)
        if verdict == V.MALICIOUS:
            judged.append((None, grant, verdict, f"{why.replace('gave', 'has given', 1)} ({since})"))
        else:  # "owners rarely do this" assumes the owner granted it: unknown without a record
            rights = "/".join(grant["rights"])
            judged.append((None, grant, V.CLEAN, f"{grant['delegate']} holds {rights} on its mailbox ({since})"))
    return judged


@check("permissions", "Mailbox and send-as permissions granted")
def permissions(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    judged = [(event, _grant(ctx, event)) for event in ctx.delegations]
    judged = [(event, grant, *_judge(ctx, grant)) for event, grant in judged]
    live_read = ctx.live.read(*LIVE_KINDS)
    now = {(ctx.upn, item.key.lower()) for item in ctx.live.items(*LIVE_KINDS)}
    for _, grant, _, _ in judged:
        # A delegation on the user's own mailbox that the live read no longer finds needs no removal.
        grant["in_place"] = not (
            live_read and grant["own_mailbox"] and (grant["mailbox"], grant["delegate"]) not in now
        )
        grant["origin"] = "both" if grant["own_mailbox"] and (grant["mailbox"], grant["delegate"]) in now else "log"
    judged += _live_grants(ctx, {(grant["mailbox"], grant["delegate"]) for _, grant, _, _ in judged})
    not_read = "" if live_read else " " + ctx.live.not_read_sentence("mailbox delegations", *LIVE_KINDS)
    if not judged:
        result.explanation = (
            "No mailbox or send-as permission involving this user was granted in the window"
            + ("." if not_read else ", and nobody holds one on its mailbox now.")
            + not_read
        )
        return result
    bad = [item for item in judged if item[2] != V.CLEAN]
    if not bad:
        result.events = [item[0] for item in judged if item[0] is not None]
        result.explanation = sentence("; ".join(item[3] for item in judged[:5])) + ": ordinary delegation." + not_read
        return result
    result.verdict = V.MALICIOUS if any(item[2] == V.MALICIOUS for item in bad) else V.SUSPICIOUS
    result.weight = 45
    result.events = [item[0] for item in bad if item[0] is not None]
    result.headline = bad[0][3]
    result.explanation = "This user " + "; ".join(item[3] for item in bad[:5]) + "." + not_read
    result.data = {"grants": [{**grant, "verdict": verdict} for _, grant, verdict, _ in bad]}
    for _, grant, _, why in bad:
        if not grant["delegate"] or not grant["mailbox"] or not grant.get("in_place", True):
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

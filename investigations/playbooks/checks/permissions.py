"""Mailbox, send-as and folder permissions: delegations this user granted itself or gave away.

The adapters file a delegation under the mailbox's owner (names resolved to UPNs), with the
``actor`` who ran the cmdlet and the ``delegate`` who got the right; the context loads every
delegation this user owns, performed or received, so a user granting itself access to the CFO's
mailbox is seen from its own investigation. A mail folder opened to Default, Anonymous or an
outsider exposes it as surely as full access does; a calendar shared with the company does not.

The live read adds the delegations on the user's own mailbox as they are now (FullAccess,
SendAs, SendOnBehalf), judged by the same rules. Who granted a standing delegation without a
record in the window is unknown, so only the delegate's address can condemn it: a colleague
(an assistant) is ordinary, an outsider is not.
"""

from alerts.activity.delegations import (
    FOLDER_READ_RIGHTS,
    SHARED_BY_HABIT,
    delegation,
    folder_exposure,
    is_outsider,
    same_account,
)
from investigations.connectors.state import StateKind
from investigations.models import Action, Finding
from investigations.playbooks.context import CheckResult, EventRow, PlaybookContext, check
from investigations.playbooks.proposal import Proposal
from investigations.playbooks.text import sentence, stamp

V = Finding.Verdict
EXPOSED = {
    "everyone": "opened {folder} of {mailbox} to everyone in the organisation (Default)",
    "anonymous": "opened {folder} of {mailbox} to anonymous users",
    "outsider": "shared {folder} of {mailbox} with {delegate}, outside the organisation",
}
LIVE_KINDS = (StateKind.MAILBOX_PERMISSION, StateKind.SEND_AS, StateKind.SEND_ON_BEHALF)


def _grant(ctx: PlaybookContext, event: EventRow) -> dict:
    grant = delegation(event)
    on_me = event.identity_id == ctx.identity.pk
    return {
        "mailbox": grant.mailbox or (ctx.upn if on_me else ""),
        "delegate": grant.delegate,
        "actor": grant.actor,
        "rights": grant.rights or ["FullAccess"],
        "folder": grant.folder,
        # A mailbox no identity answered to stays filed on whoever ran the cmdlet: it is not theirs.
        "own_mailbox": on_me and (not grant.mailbox or same_account(grant.mailbox, ctx.upn)),
        "exposure": folder_exposure(grant, ctx.is_internal, read_rights=FOLDER_READ_RIGHTS, ignored=SHARED_BY_HABIT),
        "outsider": is_outsider(grant, ctx.is_internal),
    }


def _judge(ctx: PlaybookContext, grant: dict) -> tuple[str, str]:
    me, delegate, actor = ctx.upn, grant["delegate"], grant["actor"]
    rights = "/".join(grant["rights"])
    if grant["folder"]:
        if grant["exposure"]:  # by this account, or by someone else on its mailbox
            return V.MALICIOUS if actor in (me, "") else V.SUSPICIOUS, EXPOSED[grant["exposure"]].format(**grant)
        return V.CLEAN, f"{actor or 'someone'} gave {delegate} {rights} on {grant['folder']} of {grant['mailbox']}"
    if actor == me and delegate == me and not grant["own_mailbox"]:
        return V.MALICIOUS, f"gave itself {rights} on {grant['mailbox'] or 'another mailbox'}"
    if grant["outsider"]:
        where = "its own mailbox" if grant["own_mailbox"] else grant["mailbox"]
        return V.MALICIOUS, f"gave {delegate}, outside the organisation, {rights} on {where}"
    if grant["own_mailbox"] and actor == me:
        return V.SUSPICIOUS, f"gave {delegate or 'someone'} {rights} on its own mailbox (owners rarely do this)"
    if actor == me and ctx.risky_signins:
        return V.SUSPICIOUS, f"gave {delegate} {rights} on {grant['mailbox']} after a risky sign-in"
    return V.CLEAN, f"{actor or 'an administrator'} gave {delegate} {rights} on {grant['mailbox']}"


def _live_grants(ctx: PlaybookContext, logged: set[tuple[str, str]]) -> list[tuple]:
    """Delegations on the user's own mailbox that the live read finds (or an earlier run's read found)
    and the window has no record of: (None, grant, verdict, why, when granted if known)."""
    assumed_there = not ctx.live.read(*LIVE_KINDS)  # this read saw nothing: an earlier item may still be there
    rows = [(row, "live", "it exists now") for _, row in ctx.live_records(*LIVE_KINDS)]
    rows += [
        (row, "earlier", "an earlier read found it" + ("" if assumed_there else "; it is no longer in place"))
        for _, row in ctx.earlier_records(*LIVE_KINDS)
    ]
    judged = []
    for row, origin, seen in rows:
        grant = {**_grant(ctx, row), "origin": origin, "in_place": origin == "live" or assumed_there}
        if (grant["mailbox"], grant["delegate"]) in logged:
            continue
        since = f"{seen}; no record of it since {stamp(ctx.window_start)}"
        verdict, why = _judge(ctx, grant)
        if verdict == V.MALICIOUS:
            judged.append((None, grant, verdict, f"{why.replace('gave', 'has given', 1)} ({since})", row.occurred_at))
        else:  # "owners rarely do this" assumes the owner granted it: unknown without a record
            rights = "/".join(grant["rights"])
            why = f"{grant['delegate']} holds {rights} on its mailbox ({since})"
            judged.append((None, grant, V.CLEAN, why, row.occurred_at))
    return judged


@check("permissions", "Mailbox and send-as permissions granted")
def permissions(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    live_read = ctx.live.read(*LIVE_KINDS)
    now = {(ctx.upn, item.key.lower()) for item in ctx.live.items(*LIVE_KINDS)}
    judged = []
    for event in ctx.delegations:
        grant = _grant(ctx, event)
        held = (grant["mailbox"], grant["delegate"]) in now
        # A delegation on the user's own mailbox that the live read no longer finds needs no removal.
        grant["in_place"] = not (live_read and grant["own_mailbox"] and not held)
        grant["origin"] = "both" if grant["own_mailbox"] and held else "log"
        judged.append((event, grant, *_judge(ctx, grant), event.occurred_at))
    judged += _live_grants(ctx, {(grant["mailbox"], grant["delegate"]) for _, grant, *_ in judged})
    not_read = "" if live_read else " " + ctx.live.not_read_sentence("mailbox delegations", *LIVE_KINDS)
    for _, grant, verdict, why, at in judged:
        proposal = _proposal(grant, why) if verdict != V.CLEAN else None
        if proposal:
            result.proposals.append(proposal)
        ctx.note_item(
            kind=_kind(grant),
            key=grant["delegate"] if grant["own_mailbox"] else f"{grant['delegate']} on {grant['mailbox']}",
            name=f"{'/'.join(grant['rights'])} of {grant['delegate']} on {grant['mailbox']}",
            origin=grant["origin"],
            verdict=verdict,
            created_at=at,
            action=proposal,
        )
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
    result.data = {"grants": [{**grant, "verdict": verdict} for _, grant, verdict, *_ in bad]}
    folders = [grant for _, grant, *_ in bad if grant["folder"]]
    if folders:
        # remove_mailbox_permission takes a mailbox right; a folder's is named here for the analyst.
        result.explanation += (
            " Remove the folder permission by hand (Remove-MailboxFolderPermission or the owner's Outlook): "
            + "; ".join(f"{g['delegate']} on {g['mailbox']}:{g['folder']}" for g in folders[:5])
            + "."
        )
    return result


def _kind(grant: dict) -> str:
    if "SendAs" in grant["rights"]:
        return StateKind.SEND_AS
    if "SendOnBehalf" in grant["rights"]:
        return StateKind.SEND_ON_BEHALF
    return StateKind.MAILBOX_PERMISSION


def _proposal(grant: dict, why: str) -> Proposal | None:
    """The removal of a grant still in place, when it names both mailbox and delegate."""
    if not grant["delegate"] or not grant["mailbox"] or grant["folder"] or not grant["in_place"]:
        return None
    rights = "/".join(grant["rights"])
    return Proposal(
        kind=Action.Kind.REMOVE_MAILBOX_PERMISSION,
        target=f"{rights} of {grant['delegate']} on {grant['mailbox']}",
        reason=f"This user {why}.",
        parameters={"mailbox": grant["mailbox"], "delegate": grant["delegate"], "access_rights": grant["rights"]},
    )


CHECKS = [permissions]

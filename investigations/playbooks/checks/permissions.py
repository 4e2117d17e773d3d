"""Mailbox, send-as and folder permissions: delegations this user granted itself or gave away.

The adapters file a delegation under the mailbox's owner (names resolved to UPNs), with the
``actor`` who ran the cmdlet and the ``delegate`` who got the right; the context loads every
delegation this user owns, performed or received, so a user granting itself access to the CFO's
mailbox is seen from its own investigation. A mail folder opened to Default, Anonymous or an
outsider exposes it as surely as full access does; a calendar shared with the company does not.
"""

from alerts.activity.delegations import (
    FOLDER_READ_RIGHTS,
    SHARED_BY_HABIT,
    delegation,
    folder_exposure,
    is_outsider,
    same_account,
)
from investigations.models import Action, Finding
from investigations.playbooks.context import CheckResult, EventRow, PlaybookContext, check
from investigations.playbooks.proposal import Proposal
from investigations.playbooks.text import sentence

V = Finding.Verdict
EXPOSED = {
    "everyone": "opened {folder} of {mailbox} to everyone in the organisation (Default)",
    "anonymous": "opened {folder} of {mailbox} to anonymous users",
    "outsider": "shared {folder} of {mailbox} with {delegate}, outside the organisation",
}


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
    folders = [grant for _, grant, _, _ in bad if grant["folder"]]
    if folders:
        # remove_mailbox_permission removes mailbox rights (Remove-MailboxPermission); a folder's are
        # removed with Remove-MailboxFolderPermission, which no connector runs yet.
        result.explanation += (
            " Remove the folder permission by hand (Remove-MailboxFolderPermission or the owner's Outlook): "
            + "; ".join(f"{g['delegate']} on {g['mailbox']}:{g['folder']}" for g in folders[:5])
            + "."
        )
    for _, grant, _, why in bad:
        if not grant["delegate"] or not grant["mailbox"] or grant["folder"]:
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

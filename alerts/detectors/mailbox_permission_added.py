"""Mailbox permission added by the mailbox owner, to oneself, to someone outside, or a mail
folder opened to everyone.

Admins delegate mailboxes all the time (an assistant gets access to an executive's mailbox, a
team to a shared mailbox): that is an actor who is neither the owner nor the delegate, and it
stays quiet. An attacker in an account grants access *from* the owner's own session (to keep a
way back in), grants the account they hold access to someone else's mailbox, delegates to an
outside address or guest, or shares the Inbox with Default/Anonymous or an outsider so that
any account, or anyone, can read it.

The adapters put the event on the mailbox (names resolved to UPNs) and name who ran the cmdlet
in ``attributes["actor"]``; the alert goes to the actor's identity when we know it (that is the
account in question).
"""

from datetime import timedelta

from alerts.activity.delegations import (
    FOLDER_READ_RIGHTS,
    SHARED_BY_HABIT,
    Delegation,
    delegation,
    folder_exposure,
    is_outsider,
    same_account,
)
from alerts.detectors.base import Detection, Detector
from alerts.detectors.params import Param, ParamSchema
from alerts.models import Event, Severity

DEFAULT_RIGHTS = ["FullAccess", "SendAs", "SendOnBehalf", "ChangeOwner", "ChangePermission"]
FOLDER_REASONS = {
    "everyone": "a mail folder was shared with everyone in the organisation (Default)",
    "anonymous": "a mail folder was shared with anonymous users",
    "outsider": "a mail folder was shared with someone outside the tenant",
}


class MailboxPermissionAdded(Detector):
    key = "mailbox_permission_added"
    name = "Mailbox permission added"
    description = (
        "Full access, send-as or send-on-behalf granted by the mailbox owner, by an account to itself, or to "
        "an address outside the tenant (not an admin delegating to a colleague); a mail folder shared with "
        "Default, Anonymous or an outsider."
    )
    severity = Severity.MEDIUM
    schema = ParamSchema(
        (
            Param("rights", "list", DEFAULT_RIGHTS, "Rights", "Mailbox permissions that count."),
            Param("alert_on_owner_grant", "bool", True, "Granted by the owner", "The owner's own session grants."),
            Param("alert_on_self_grant", "bool", True, "Granted to oneself", "An account grants itself access."),
            Param("alert_on_external_delegate", "bool", True, "External delegate", "The delegate is outside."),
            Param(
                "folder_rights",
                "list",
                FOLDER_READ_RIGHTS,
                "Folder rights",
                "Folder permissions that let the delegate read mail.",
            ),
            Param(
                "ignored_folders",
                "list",
                SHARED_BY_HABIT,
                "Folders shared by habit",
                "Sharing these folders never alerts (patterns such as Calendar*).",
            ),
            Param(
                "alert_on_folder_exposed",
                "bool",
                True,
                "Mail folder shared widely",
                "A mail folder shared with Default, Anonymous or an outsider.",
            ),
        )
    )
    trigger_kinds = frozenset({Event.Kind.MAILBOX_PERMISSION_ADDED, Event.Kind.SEND_AS_PERMISSION_ADDED})

    def context_span(self, params):
        return timedelta(0)

    def detect(self, ctx, identity_id, triggers, params):
        owner = ctx.identities[identity_id].upn
        findings: dict[int, Detection] = {}
        for event in triggers:
            grant = delegation(event)
            actor = grant.actor  # empty when the record names nobody: then nobody is the owner
            mailbox = grant.mailbox or owner
            why, counted = self._judge(ctx, grant, actor, mailbox, params)
            if not why:
                continue
            account = ctx.identity_ids_by_upn.get(actor, identity_id)
            finding = findings.setdefault(
                account,
                Detection(
                    identity_id=account,
                    title="Mailbox access granted outside the usual admin delegation",
                    reasons={},
                    events=[],
                    evidence={"grants": []},
                ),
            )
            evidence = {"mailbox": mailbox, "delegate": grant.delegate, "rights": counted, "actor": actor or None}
            if grant.folder:
                evidence.update(folder=grant.folder, scope=grant.scope)
            finding.evidence["grants"].append(evidence)
            finding.events.append(event)
            shown = Delegation(mailbox, grant.delegate, actor, counted, grant.folder, grant.scope)
            finding.reasons[f"grant:{mailbox}:{grant.folder}:{grant.delegate}"] = (
                f"{actor or 'Someone'} gave {shown.describe()}: {'; '.join(why)}."
            )
        return list(findings.values())

    @staticmethod
    def _judge(ctx, grant: Delegation, actor: str, mailbox: str, params) -> tuple[list[str], list[str]]:
        """(reasons, the rights that count) for one grant; no reasons: an ordinary delegation."""
        if grant.folder:
            exposure = folder_exposure(
                grant, ctx.is_internal, read_rights=params["folder_rights"], ignored=params["ignored_folders"]
            )
            if not exposure or not params["alert_on_folder_exposed"]:
                return [], []
            wanted = {right.lower() for right in params["folder_rights"]}
            return [FOLDER_REASONS[exposure]], [right for right in grant.rights if right.lower() in wanted]
        wanted = {right.lower() for right in params["rights"]}
        counted = [right for right in grant.rights if right.lower() in wanted]
        if not counted:
            return [], []
        why = []
        delegate = grant.delegate
        if params["alert_on_owner_grant"] and same_account(mailbox, actor) and not same_account(delegate, actor):
            why.append("granted from the mailbox owner's own account")
        if params["alert_on_self_grant"] and same_account(delegate, actor) and not same_account(mailbox, actor):
            why.append("the account granted itself access to another mailbox")
        if params["alert_on_external_delegate"] and is_outsider(grant, ctx.is_internal):
            why.append("the delegate is outside the tenant's domains")
        return why, counted

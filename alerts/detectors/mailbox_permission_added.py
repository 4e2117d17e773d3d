"""Mailbox permission added by the mailbox owner, to oneself, or to someone outside the tenant.

Admins delegate mailboxes all the time (an assistant gets access to an executive's mailbox):
that is an actor who is neither the owner nor the delegate, and it stays quiet. An attacker in
an account grants access *from* the owner's own session (to keep a way back in) or grants the
account they hold access to someone else's mailbox, or delegates to an outside address.

The adapters put the event on the mailbox and name who ran the cmdlet in ``attributes["actor"]``;
the alert goes to the actor's identity when we know it (that is the account in question).
"""

from datetime import timedelta

from alerts.activity.fields import attr, attribute_list
from alerts.detectors.base import Detection, Detector
from alerts.detectors.params import Param, ParamSchema
from alerts.models import Event, Severity

DEFAULT_RIGHTS = ["FullAccess", "SendAs", "SendOnBehalf", "ChangeOwner", "ChangePermission"]


def _same_account(name: str, upn: str) -> bool:
    """A cmdlet names a mailbox by UPN, address or alias: compare the full address or the alias."""
    name, upn = name.strip().lower(), upn.lower()
    if not name:
        return False
    return name == upn or ("@" not in name and name == upn.partition("@")[0])


class MailboxPermissionAdded(Detector):
    key = "mailbox_permission_added"
    name = "Mailbox permission added"
    description = (
        "Full access, send-as or send-on-behalf granted by the mailbox owner, by an account to itself, or to "
        "an address outside the tenant (not an admin delegating to a colleague)."
    )
    severity = Severity.MEDIUM
    schema = ParamSchema(
        (
            Param("rights", "list", DEFAULT_RIGHTS, "Rights", "Permissions that count."),
            Param("alert_on_owner_grant", "bool", True, "Granted by the owner", "The owner's own session grants."),
            Param("alert_on_self_grant", "bool", True, "Granted to oneself", "An account grants itself access."),
            Param("alert_on_external_delegate", "bool", True, "External delegate", "The delegate is outside."),
        )
    )
    trigger_kinds = frozenset({Event.Kind.MAILBOX_PERMISSION_ADDED, Event.Kind.SEND_AS_PERMISSION_ADDED})

    def context_span(self, params):
        return timedelta(0)

    def detect(self, ctx, identity_id, triggers, params):
        owner = ctx.identities[identity_id].upn
        wanted = {right.lower() for right in params["rights"]}
        findings: dict[int, Detection] = {}
        for event in triggers:
            actor = str(attr(event, "actor", default="") or owner).lower()
            mailbox = str(attr(event, "mailbox", default="") or owner)
            delegate = str(attr(event, "delegate", default=""))
            rights = attribute_list(attr(event, "access_rights"))
            if event.kind == Event.Kind.SEND_AS_PERMISSION_ADDED and not rights:
                rights = ["SendAs"]
            counted = [right for right in rights if right.lower() in wanted]
            if not counted:
                continue
            why = []
            if params["alert_on_owner_grant"] and _same_account(mailbox, actor) and not _same_account(delegate, actor):
                why.append("granted from the mailbox owner's own account")
            if params["alert_on_self_grant"] and _same_account(delegate, actor) and not _same_account(mailbox, actor):
                why.append("the account granted itself access to another mailbox")
            if params["alert_on_external_delegate"] and "@" in delegate and not ctx.is_internal(delegate):
                why.append("the delegate is outside the tenant's domains")
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
            finding.evidence["grants"].append(
                {"mailbox": mailbox, "delegate": delegate, "rights": counted, "actor": actor}
            )
            finding.events.append(event)
            finding.reasons[f"grant:{mailbox}:{delegate}"] = (
                f"{actor} gave {delegate or 'someone'} {', '.join(counted)} on mailbox {mailbox}: {'; '.join(why)}."
            )
        return list(findings.values())

"""Mailbox forwarding (``Set-Mailbox -ForwardingSmtpAddress``) to an address outside the tenant."""

from alerts.activity.rules import mailbox_forwarding
from alerts.models import Event
from investigations.models import Action, Finding
from investigations.playbooks.context import CheckResult, PlaybookContext, check
from investigations.playbooks.proposal import Proposal
from investigations.playbooks.text import stamp, when

V = Finding.Verdict


@check("forwarding", "Mailbox forwarding outside the organisation")
def forwarding(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    events = ctx.of_kind(Event.Kind.MAILBOX_FORWARDING_SET)
    if not events:
        result.explanation = "Mailbox forwarding was not changed in the window."
        return result
    last = events[-1]
    addresses = mailbox_forwarding(last)
    external = [address for address in addresses if not ctx.is_internal(address)]
    if not external:
        result.explanation = (
            f"Forwarding now goes to {', '.join(addresses)}, inside the organisation."
            if addresses
            else f"Forwarding was switched off {when(last.occurred_at)}."
        )
        result.events = [last]
        return result
    keeps_copy = last.attributes.get("deliver_to_mailbox_and_forward") if isinstance(last.attributes, dict) else None
    result.verdict = V.MALICIOUS
    result.weight = 50
    result.events = [event for event in events if mailbox_forwarding(event)][-10:]
    result.headline = f"forwarded all mail to {external[0]}"
    result.explanation = (
        f"Every message to this mailbox is forwarded to {', '.join(external)} (outside the organisation) since "
        f"{stamp(last.occurred_at)}" + (", without keeping a copy." if keeps_copy is False else ".")
    )
    result.data = {"forward_to": external}
    result.proposals.append(
        Proposal(
            kind=Action.Kind.DISABLE_MAILBOX_FORWARDING,
            target=external[0],  # a new address later is a new target, so it gets its own action
            reason=f"The mailbox forwards all mail to {', '.join(external)}, outside the organisation.",
            parameters={"mailbox": ctx.upn, "address": external[0]},
        )
    )
    return result


CHECKS = [forwarding]

"""Mail sent outside the organisation wholesale: mailbox forwarding (``Set-Mailbox
-ForwardingSmtpAddress``) and, for an admin account, transport rules that copy the organisation's
mail out (``New-TransportRule -BlindCopyTo``). Rules that stay inside (a disclaimer, a blind copy
to compliance) are ordinary administration."""

from alerts.activity.rules import TRANSPORT_ACTIONS, mailbox_forwarding, transport_rule_targets
from alerts.models import Event
from investigations.models import Action, Finding
from investigations.playbooks.context import CheckResult, PlaybookContext, check
from investigations.playbooks.proposal import Proposal
from investigations.playbooks.text import quote, stamp, when

V = Finding.Verdict


def _transport_rules_outside(ctx: PlaybookContext) -> list[tuple]:
    """``(event, sentence, addresses)`` for each transport rule change that copies mail outside."""
    found = []
    for event in ctx.of_kind(Event.Kind.TRANSPORT_RULE_CHANGED):
        for action, addresses in transport_rule_targets(event).items():
            external = [address for address in addresses if "@" in address and not ctx.is_internal(address)]
            if external:
                sentence = (
                    f"transport rule {quote(event.target or '(unnamed)', 40)} {TRANSPORT_ACTIONS[action]} the "
                    f"organisation's mail to {', '.join(external)}"
                )
                found.append((event, sentence, external))
    return found


@check("forwarding", "Mailbox forwarding outside the organisation")
def forwarding(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    transport = _transport_rules_outside(ctx)
    events = ctx.of_kind(Event.Kind.MAILBOX_FORWARDING_SET)
    if not events and not transport:
        result.explanation = "Mailbox forwarding was not changed in the window."
        return result
    external = []
    if events:
        last = events[-1]
        addresses = mailbox_forwarding(last)
        external = [address for address in addresses if not ctx.is_internal(address)]
        if not external and not transport:
            result.explanation = (
                f"Forwarding now goes to {', '.join(addresses)}, inside the organisation."
                if addresses
                else f"Forwarding was switched off {when(last.occurred_at)}."
            )
            result.events = [last]
            return result
    result.verdict = V.MALICIOUS
    result.weight = 50
    parts = []
    if external:
        keeps_copy = (
            last.attributes.get("deliver_to_mailbox_and_forward") if isinstance(last.attributes, dict) else None
        )
        result.events = [event for event in events if mailbox_forwarding(event)][-10:]
        result.headline = f"forwarded all mail to {external[0]}"
        parts.append(
            f"Every message to this mailbox is forwarded to {', '.join(external)} (outside the organisation) since "
            f"{stamp(last.occurred_at)}" + (", without keeping a copy" if keeps_copy is False else "")
        )
        result.proposals.append(
            Proposal(
                kind=Action.Kind.DISABLE_MAILBOX_FORWARDING,
                target=external[0],  # a new address later is a new target, so it gets its own action
                reason=f"The mailbox forwards all mail to {', '.join(external)}, outside the organisation.",
                parameters={"mailbox": ctx.upn, "address": external[0]},
            )
        )
    if transport:
        result.events = [*result.events, *dict.fromkeys(event for event, _, _ in transport)]
        result.headline = result.headline or f"created a {transport[0][1]}"
        parts.append("This account created a " + "; a ".join(sentence for _, sentence, _ in transport[:5]))
    result.explanation = ". ".join(parts) + "."
    result.data = {
        "forward_to": external,
        "transport_rule_targets": sorted({a for _, _, addresses in transport for a in addresses}),
    }
    return result


CHECKS = [forwarding]

"""Mail sent outside the organisation wholesale: mailbox forwarding (``Set-Mailbox
-ForwardingSmtpAddress``) and, for an admin account, transport rules that copy the organisation's
mail out (``New-TransportRule -BlindCopyTo``). Rules that stay inside (a disclaimer, a blind copy
to compliance) are ordinary administration.

Mailbox forwarding is judged on the union of the log window and the live read: forwarding that
exists now is a finding whether or not its ``Set-Mailbox`` record is in the window, and forwarding
the logs show but the live read no longer finds is still what the intruder did (without a
proposal: nothing to undo).
"""

from alerts.activity.rules import TRANSPORT_ACTIONS, mailbox_forwarding, transport_rule_targets
from alerts.models import Event
from investigations.connectors.state import StateKind
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
    result = _mailbox_forwarding(ctx, result)
    transport = _transport_rules_outside(ctx)
    if transport:
        clean = result.verdict != V.MALICIOUS
        result.verdict = V.MALICIOUS
        result.weight = max(result.weight, 50)
        result.events = [*result.events, *dict.fromkeys(event for event, _, _ in transport)]
        if clean:
            result.headline = f"created a {transport[0][1]}"
        told = "This account created a " + "; a ".join(sentence for _, sentence, _ in transport[:5]) + "."
        result.explanation = told if clean else f"{result.explanation} {told}"
        result.data = {
            **(result.data or {}),
            "transport_rule_targets": sorted({a for _, _, addresses in transport for a in addresses}),
        }
    return result


def _mailbox_forwarding(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    events = ctx.of_kind(Event.Kind.MAILBOX_FORWARDING_SET)
    last = events[-1] if events else None
    logged = mailbox_forwarding(last) if last else []  # where the logs leave it at the end of the window
    live_read = ctx.live.read(StateKind.FORWARDING)
    live = [row for _, row in ctx.live_records(StateKind.FORWARDING)]
    now = [address for row in live for address in mailbox_forwarding(row)]
    if live_read and last and now and set(now) != set(logged):
        ctx.disagreements.append(
            "the logs leave mailbox forwarding "
            + (f"set to {', '.join(logged)}" if logged else "switched off")
            + f" ({when(last.occurred_at)}), but the mailbox forwards to {', '.join(now)} now"
        )
    # What an earlier run of this investigation read: still evidence once removed.
    earlier = [address for _, row in ctx.earlier_records(StateKind.FORWARDING) for address in mailbox_forwarding(row)]
    # Unread now: the logs' last word, else what the earlier read found.
    current = now if live_read else (logged if last else earlier)
    external = [address for address in current if not ctx.is_internal(address)]
    logged_external = [address for address in logged if not ctx.is_internal(address)]
    earlier_external = [address for address in earlier if not ctx.is_internal(address)]
    not_read = "" if live_read else " " + ctx.live.not_read_sentence("mailbox forwarding", StateKind.FORWARDING)
    if not external and not logged_external and not earlier_external:
        if current:
            result.explanation = f"Forwarding now goes to {', '.join(current)}, inside the organisation."
        elif last:
            result.explanation = f"Forwarding was switched off {when(last.occurred_at)}."
        else:
            result.explanation = "Mailbox forwarding was not changed in the window."
        if live_read and not current:
            result.explanation += " The mailbox does not forward mail now."
        result.explanation += not_read
        result.events = [last] if last else []
        for address in current:
            origin = ("both" if address in _set_at(events) else "live") if live_read else "log"
            ctx.note_item(
                kind=StateKind.FORWARDING,
                key=address,
                name=address,
                origin=origin,
                verdict=V.CLEAN,
                created_at=_set_at(events).get(address),
            )
        return result
    result.verdict = V.MALICIOUS
    result.weight = 50
    result.events = [event for event in events if mailbox_forwarding(event)][-10:]
    shown = external or logged_external or earlier_external
    in_logs = _set_at(events)
    origin = "log"  # unless the live read finds it now
    if live_read and external:
        origin = "both" if set(external) & set(in_logs) else "live"
    elif not logged_external and not (external and last):
        origin = "earlier"
    if not external:  # the logs or an earlier read show it, the live read no longer does
        result.headline = f"forwarded all mail to {shown[0]}"
        since = f"from {stamp(last.occurred_at)}" if logged_external else "as an earlier read of the mailbox found"
        result.explanation = (
            f"Mail to this mailbox was forwarded to {', '.join(shown)} (outside the organisation) {since}; the live "
            f"read of {stamp(ctx.live.state.read_at)} finds that forwarding no longer in place."
        )
    else:
        keep_copy = (live[0] if live_read and live else last).fact("deliver_to_mailbox_and_forward")
        copy = ", without keeping a copy." if keep_copy is False else "."
        result.headline = f"forwards all mail to {external[0]}"
        if origin == "earlier":
            result.explanation = (
                f"Every message to this mailbox is forwarded to {', '.join(external)} (outside the organisation), "
                "as an earlier read of the mailbox found." + not_read
            )
        elif origin == "live":
            result.explanation = (
                f"Every message to this mailbox is forwarded to {', '.join(external)} (outside the organisation)"
                + copy
                + f" This forwarding exists now; no record of it being set since {stamp(ctx.window_start)}."
            )
        else:
            result.explanation = (
                f"Every message to this mailbox is forwarded to {', '.join(external)} (outside the organisation) since "
                f"{stamp(last.occurred_at)}" + copy + (" It is still in place." if origin == "both" else not_read)
            )
        result.proposals.append(
            Proposal(
                kind=Action.Kind.DISABLE_MAILBOX_FORWARDING,
                target=external[0],  # a new address later is a new target, so it gets its own action
                reason=f"The mailbox forwards all mail to {', '.join(external)}, outside the organisation.",
                parameters={"mailbox": ctx.upn, "address": external[0]},
            )
        )
    result.data = {"forward_to": shown, "origin": origin}
    ctx.note_item(
        kind=StateKind.FORWARDING,
        key=shown[0],
        name=", ".join(shown),
        origin=origin,
        verdict=V.MALICIOUS,
        created_at=in_logs.get(shown[0]),
        action=result.proposals[0] if result.proposals else None,
    )
    return result


def _set_at(events) -> dict:
    """When the logs last set forwarding to each address."""
    return {address: event.occurred_at for event in events for address in mailbox_forwarding(event)}


CHECKS = [forwarding]

"""What the logs and the live read disagree on, and whether the live read happened at all.

Runs after the checks that judge the union of logs and live state; they note each disagreement
on the context (a rule the logs say was removed but is still there, forwarding the logs leave
switched off but in place). A disagreement is suspicious in itself: someone changed the account
in a way the audit log does not show (a hidden client, a record that never arrived), or undid a
removal. When the live state was not read, the finding says so plainly.
"""

from investigations.models import Finding
from investigations.playbooks.context import CheckResult, PlaybookContext, check
from investigations.playbooks.text import plural, sentence, stamp

V = Finding.Verdict


@check("live_state", "The account now against its logs")
def live_state(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    state = ctx.live.state
    result.data = {
        "source": state.source,
        "read_at": state.read_at.isoformat(),
        "unread": sorted(state.unread),
        "items": list(ctx.items),  # what each check judged, logs and live together (the "Current state" tab)
    }
    if ctx.live.nothing_read:
        result.explanation = (
            f"The live state of the account was not read ({ctx.live.unread(*state.unread)}): the checks judged "
            "the logs alone, and nothing that exists now without a record in the window could be seen."
        )
        return result
    parts = ", ".join(part.replace("_", " ") for part in sorted(state.unread))
    unread = f" Not read: {parts} ({ctx.live.unread(*sorted(state.unread))})." if state.unread else ""
    if not ctx.disagreements:
        result.explanation = (
            f"Read from the {state.source} tenant at {stamp(state.read_at)} ({plural(len(state.items), 'item')}); "
            "it agrees with the logs." + unread
        )
        return result
    result.verdict = V.SUSPICIOUS
    result.weight = 40
    result.headline = "is not in the state its logs describe"
    result.explanation = (
        sentence("; ".join(ctx.disagreements))
        + f" (read from the {state.source} tenant at {stamp(state.read_at)}). Someone changed the account without "
        "an audit record in the window, or undid a removal." + unread
    )
    result.data["disagreements"] = list(ctx.disagreements)
    return result


CHECKS = [live_state]

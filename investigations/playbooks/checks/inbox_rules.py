"""Inbox rules: forwarding or redirecting mail outside, deleting, marking read or hiding mail in
rarely used folders (RSS Feeds, Conversation History, Archive), especially keyed on words an
attacker watches for (invoice, payment, wire). Each bad rule still in place gets a
``remove_inbox_rule`` proposal.

The rules judged are the union of the log window (each rule as its last record leaves it) and
the live read (hidden rules included): a rule that exists now is judged whether or not its
creation is in the logs, and one the logs say was removed but is still there is a disagreement."""

from dataclasses import dataclass
from datetime import datetime

from alerts.activity.rules import HIDDEN_FOLDERS, USERS_OWN_FOLDERS, InboxRule, folder_matches, inbox_rule, rule_states
from alerts.models import Event
from investigations.connectors.state import StateKind
from investigations.models import Action, Finding
from investigations.playbooks.context import CheckResult, EventRow, PlaybookContext, check
from investigations.playbooks.proposal import Proposal
from investigations.playbooks.text import plural, quote, sentence, stamp, when

V = Finding.Verdict
K = Event.Kind
KEYWORDS = {
    "invoice",
    "payment",
    "wire",
    "transfer",
    "bank",
    "remittance",
    "ach",
    "swift",
    "iban",
    "paypal",
    "hack",
    "phish",
    "compromised",
    "password",
    "security",
    "fraud",
}


VERBS = {"live": "has", "earlier": "had"}  # the summary's verb for a rule with no record in the window
# Exchange's own hidden rules (junk mail, automatic replies): every mailbox has them.
SYSTEM_RULES = {
    "junk e-mail rule",
    "microsoft.exchange.oof.internalsenders.global",
    "microsoft.exchange.oof.knownexternalsenders.global",
    "microsoft.exchange.oof.allexternalsenders.global",
}


def rule_reasons(
    ctx: PlaybookContext, event: EventRow, rule: InboxRule | None = None, *, hidden: bool = False
) -> tuple[str, list[str]]:
    """(verdict, reasons in plain words) for one rule, from its log record or its live read.

    ``rule`` is the rule as the record left it (``rule_states``: a ``Set-InboxRule`` laid over its
    earlier state); ``hidden``: the live read found it only with ``-IncludeHidden``.
    """
    rule = rule or inbox_rule(event)
    reasons, malicious = [], False
    for how, addresses in rule.forwards.items():
        external = [a for a in addresses if not ctx.is_internal(a)]
        if external:
            verb = {"RedirectTo": "redirects", "ForwardAsAttachmentTo": "forwards as attachment"}.get(how, "forwards")
            reasons.append(f"{verb} mail outside the organisation to {', '.join(external[:3])}")
            malicious = True
    hides = []
    if rule.deletes:
        hides.append("deletes mail")
    if rule.marks_read:
        hides.append("marks mail as read")
    if folder_matches(rule.folder_name, HIDDEN_FOLDERS + USERS_OWN_FOLDERS):
        hides.append(f"moves mail to {quote(rule.folder_name)}")
        # Nobody files their own mail into RSS Feeds or Conversation History (in any language).
        malicious = malicious or folder_matches(rule.folder_name, HIDDEN_FOLDERS)
    reasons.extend(hides)
    words = sorted({w for w in rule.keywords if any(k in w.lower() for k in KEYWORDS)})
    if words and (hides or rule.forwards):
        reasons.append(f"only for mail mentioning {', '.join(quote(w, 20) for w in words[:4])}")
        malicious = True
    if rule.name and len(rule.name.strip(" .-_,;")) == 0:
        reasons.append(f"has a name meant to go unnoticed ({quote(rule.name)})")
        malicious = malicious or bool(hides)
    if hidden:
        reasons.append("is hidden from Outlook and Get-InboxRule")
        malicious = malicious or bool(hides) or bool(rule.forwards)
    if malicious:
        return V.MALICIOUS, reasons
    # Hiding alone is what people do with newsletters and spam; after a risky sign-in it is not.
    after_risk = bool(ctx.risky_signins) and event.occurred_at is not None and event.occurred_at >= ctx.suspicious_since
    return (V.SUSPICIOUS if hides and after_risk else V.CLEAN), reasons


@dataclass
class JudgedRule:
    name: str
    verdict: str
    reasons: list[str]
    event: EventRow | None  # the log record it rests on, if the window has one
    origin: str  # "log", "live", "both" or "earlier" (an earlier run's read found it, this one does not)
    in_place: bool  # exists now (or could not be read: assumed to)
    hidden: bool = False
    created_at: datetime | None = None


def _judged_rules(ctx: PlaybookContext) -> tuple[list[JudgedRule], int]:
    """Every rule the logs or the live read know, judged as it stands now; and how many were looked at."""
    events = ctx.of_kind(K.INBOX_RULE_CREATED, K.INBOX_RULE_CHANGED, K.INBOX_RULE_REMOVED)
    states = rule_states(events)
    latest: dict[str, EventRow] = {}
    for event in events:  # the rule as it stands at the end of the window; unnamed rules by their id
        latest[states[event.pk].name or states[event.pk].key] = event
    live_read = ctx.live.read(StateKind.INBOX_RULE)
    live = {
        item.name: (item, row)
        for item, row in ctx.live_records(StateKind.INBOX_RULE)
        if not (item.hidden and item.name.lower() in SYSTEM_RULES)
    }
    judged = []
    for name in dict.fromkeys([*latest, *live]):
        event = latest.get(name)
        removed = event is not None and event.kind == K.INBOX_RULE_REMOVED
        if name in live:
            item, row = live[name]
            if removed:
                ctx.disagreements.append(
                    f"the logs say inbox rule {quote(name or '(unnamed)', 40)} was removed {when(event.occurred_at)}, "
                    "but it is still there"
                )
            # Logged and there: the log's state (changes laid over the rule) says what it does.
            if event is not None and not removed:
                verdict, reasons = rule_reasons(ctx, event, states[event.pk], hidden=item.hidden)
            else:
                verdict, reasons = rule_reasons(ctx, row, hidden=item.hidden)
            origin = "both" if event is not None and not removed else "live"
            logged = None if removed else event
            created_at = item.created_at or (logged.occurred_at if logged else None)
            judged.append(JudgedRule(name, verdict, reasons, logged, origin, True, item.hidden, created_at))
        elif event is not None and not removed:
            verdict, reasons = rule_reasons(ctx, event, states[event.pk])
            judged.append(
                JudgedRule(name, verdict, reasons, event, "log", in_place=not live_read, created_at=event.occurred_at)
            )
    for item, row in ctx.earlier_records(StateKind.INBOX_RULE):
        if item.name in latest or item.name in live or (item.hidden and item.name.lower() in SYSTEM_RULES):
            continue
        verdict, reasons = rule_reasons(ctx, row, hidden=item.hidden)
        judged.append(
            JudgedRule(item.name, verdict, reasons, None, "earlier", not live_read, item.hidden, item.created_at)
        )
    return judged, len({rule.name for rule in judged} | set(latest))


@check("inbox_rules", "Inbox rules that forward, delete or hide mail")
def inbox_rules(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    judged, seen = _judged_rules(ctx)
    bad = [rule for rule in judged if rule.verdict != V.CLEAN]
    not_read = (
        ""
        if ctx.live.read(StateKind.INBOX_RULE)
        else " " + ctx.live.not_read_sentence("inbox rules", StateKind.INBOX_RULE)
    )
    if not bad:
        if seen:
            text = (
                f"{plural(seen, 'inbox rule')} in the window or in the mailbox now; none forwards outside, deletes or "
            )
            text += "hides mail."
        else:
            text = "No inbox rule was created or changed in the window" + (
                "." if not_read else ", and the mailbox has none now."
            )
        result.explanation = text + not_read
        _note(ctx, judged, [])
        return result
    result.verdict = V.MALICIOUS if any(rule.verdict == V.MALICIOUS for rule in bad) else V.SUSPICIOUS
    result.weight = 50
    result.events = [rule.event for rule in bad if rule.event is not None]
    verb = VERBS.get(bad[0].origin, "created")
    result.headline = f"{verb} an inbox rule that {' and '.join(bad[0].reasons[:2])}"
    result.explanation = sentence("; ".join(_described(ctx, rule) for rule in bad[:5])) + "." + not_read
    result.data = {
        "rules": [
            {
                "name": rule.name,
                "verdict": rule.verdict,
                "reasons": rule.reasons,
                "event_id": rule.event.id if rule.event else None,
                "origin": rule.origin,
                "in_place": rule.in_place,
                "hidden": rule.hidden,
            }
            for rule in bad
        ],
        "forward_to": sorted(
            {a for rule in bad if rule.event for v in inbox_rule(rule.event).forwards.values() for a in v}
        ),
    }
    for rule in bad:
        if rule.in_place:
            result.proposals.append(
                Proposal(
                    kind=Action.Kind.REMOVE_INBOX_RULE,
                    target=rule.name,
                    reason=f"Inbox rule {quote(rule.name, 40)} {' and '.join(rule.reasons)}.",
                    # What the rule does finds it when Exchange shows it under another (or a hidden) name.
                    parameters={
                        "mailbox": ctx.upn,
                        "rule": rule.name,
                        "rule_settings": (rule.event.fact("rule") if rule.event else None) or {},
                    },
                )
            )
    _note(ctx, judged, result.proposals)
    return result


def _note(ctx: PlaybookContext, judged: list[JudgedRule], proposals: list[Proposal]) -> None:
    by_rule = {proposal.target: proposal for proposal in proposals}
    for rule in judged:
        ctx.note_item(
            kind=StateKind.INBOX_RULE,
            key=rule.name,
            name=rule.name or "(unnamed)",
            origin=rule.origin,
            verdict=rule.verdict,
            created_at=rule.created_at,
            action=by_rule.get(rule.name) if rule.verdict != V.CLEAN else None,
        )


def _described(ctx: PlaybookContext, rule: JudgedRule) -> str:
    text = f"rule {quote(rule.name or '(unnamed)', 40)} {' and '.join(rule.reasons)}"
    if not rule.in_place:
        return text + " (no longer in place)"
    if rule.origin == "live":
        return text + f" (it exists now; no record of its creation since {stamp(ctx.window_start)})"
    if rule.origin == "earlier":
        return text + " (found by an earlier read of the mailbox)"
    return text


CHECKS = [inbox_rules]

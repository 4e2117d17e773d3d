"""Inbox rules: forwarding or redirecting mail outside, deleting, marking read or hiding mail in
rarely used folders (RSS Feeds, Conversation History, Archive), especially keyed on words an
attacker watches for (invoice, payment, wire). Each bad rule still in place gets a
``remove_inbox_rule`` proposal."""

from alerts.activity.rules import HIDDEN_FOLDERS, USERS_OWN_FOLDERS, InboxRule, folder_matches, rule_states
from alerts.models import Event
from investigations.models import Action, Finding
from investigations.playbooks.context import CheckResult, EventRow, PlaybookContext, check
from investigations.playbooks.proposal import Proposal
from investigations.playbooks.text import plural, quote, sentence

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


def rule_reasons(ctx: PlaybookContext, event: EventRow, rule: InboxRule) -> tuple[str, list[str]]:
    """(verdict, reasons in plain words) for one rule as ``event`` left it."""
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
    if malicious:
        return V.MALICIOUS, reasons
    # Hiding alone is what people do with newsletters and spam; after a risky sign-in it is not.
    after_risk = bool(ctx.risky_signins) and event.occurred_at >= ctx.suspicious_since
    return (V.SUSPICIOUS if hides and after_risk else V.CLEAN), reasons


@check("inbox_rules", "Inbox rules that forward, delete or hide mail")
def inbox_rules(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    events = ctx.of_kind(K.INBOX_RULE_CREATED, K.INBOX_RULE_CHANGED, K.INBOX_RULE_REMOVED)
    states = rule_states(events)
    latest: dict[str, EventRow] = {}
    for event in events:
        latest[states[event.pk].key] = event  # the rule as it stands at the end of the window
    bad = []
    for event in latest.values():
        if event.kind == K.INBOX_RULE_REMOVED:
            continue
        rule = states[event.pk]
        verdict, reasons = rule_reasons(ctx, event, rule)
        if verdict != V.CLEAN:
            bad.append((rule, event, verdict, reasons))
    if not bad:
        result.explanation = (
            f"{plural(len(latest), 'inbox rule')} created or changed in the window; none forwards outside, deletes or "
            "hides mail."
            if latest
            else "No inbox rule was created or changed in the window."
        )
        return result
    result.verdict = V.MALICIOUS if any(b[2] == V.MALICIOUS for b in bad) else V.SUSPICIOUS
    result.weight = 50
    result.events = [b[1] for b in bad]
    described = [f"rule {quote(rule.name or '(unnamed)', 40)} {' and '.join(reasons)}" for rule, _, _, reasons in bad]
    result.headline = f"created an inbox rule that {' and '.join(bad[0][3][:2])}"
    result.explanation = sentence("; ".join(described[:5])) + "."
    result.data = {
        "rules": [{"name": rule.name, "verdict": v, "reasons": r, "event_id": e.id} for rule, e, v, r in bad],
        "forward_to": sorted({a for rule, _, _, _ in bad for v in rule.forwards.values() for a in v}),
    }
    for rule, event, _, reasons in bad:
        # The audit log's rule id is Exchange's, not the Graph messageRule id: the name is what carries over,
        # and what the rule does finds it when Exchange shows it under another (or a hidden) name.
        parameters = {"mailbox": ctx.upn, "rule": rule.name, "rule_settings": event.fact("rule") or {}}
        result.proposals.append(
            Proposal(
                kind=Action.Kind.REMOVE_INBOX_RULE,
                target=rule.name or rule.key,
                reason=f"Inbox rule {quote(rule.name or '(unnamed)', 40)} {' and '.join(reasons)}.",
                parameters=parameters,
            )
        )
    return result


CHECKS = [inbox_rules]

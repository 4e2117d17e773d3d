"""Suspicious inbox rule: a rule that hides mail from its owner.

Attackers in a mailbox hide replies and warnings: rules that delete mail, mark it read or move
it to a folder nobody looks at (RSS Feeds, Conversation History, Archive), keyed on words like
invoice, payment or wire, often with a name of one or two dots. Each trait scores points;
the rule fires at the threshold, so "move newsletters to Newsletters" stays quiet while
"move mail about invoices to RSS Feeds and mark it read" does not.

Scores: deletes 2, moves to a rarely used folder 2 (names matched as patterns, in Outlook's
common languages: "Flux RSS", "Historique des conversations"), keyed on a listed word 2, marks
read 1, forwards 1, a name with no letters or digits 1, a folder named only by its id 1, hiding
mail from colleagues 1. A ``Set-InboxRule`` is judged on the whole rule it leaves: its changes
laid over the rule's earlier state (``alerts.activity.rules.rule_states``).

Hiding alone is what people do with their own mail ("newsletters → Archive, mark read",
"[SPAM] → Junk Email"): by default a rule alerts only when it also shows intent (a listed word,
a name meant to go unnoticed, a forward, a colleague's mail hidden, or a folder such as RSS Feeds
or Conversation History that nobody files mail into).
"""

from datetime import timedelta

from alerts.activity.changes import is_failed_change
from alerts.activity.rules import HIDDEN_FOLDERS, USERS_OWN_FOLDERS, folder_matches, rule_states
from alerts.detectors.base import Detection, Detector, quote
from alerts.detectors.params import Param, ParamSchema
from alerts.models import Event, Severity

DEFAULT_FOLDERS = HIDDEN_FOLDERS + USERS_OWN_FOLDERS
DEFAULT_KEYWORDS = [
    "invoice",
    "payment",
    "wire",
    "transfer",
    "remittance",
    "bank",
    "iban",
    "swift",
    "payroll",
    "w-2",
    "hacked",
    "phish",
    "suspicious",
    "compromised",
]


RULE_KINDS = frozenset({Event.Kind.INBOX_RULE_CREATED, Event.Kind.INBOX_RULE_CHANGED, Event.Kind.INBOX_RULE_REMOVED})
# How far back a changed rule's earlier state is looked for (``Set-InboxRule`` names only what changes).
RULE_HISTORY = timedelta(days=30)


class SuspiciousInboxRule(Detector):
    key = "suspicious_inbox_rule"
    name = "Suspicious inbox rule"
    description = (
        "A rule that deletes mail, marks it read or moves it to a rarely used folder, especially when keyed "
        "on words such as invoice, payment or wire."
    )
    severity = Severity.HIGH
    schema = ParamSchema(
        (
            Param(
                "rare_folders",
                "list",
                DEFAULT_FOLDERS,
                "Rarely used folders",
                "Moving mail to one of these folders hides it (patterns such as *RSS*; localised names included).",
            ),
            Param("keywords", "list", DEFAULT_KEYWORDS, "Words", "Conditions on these words raise the score."),
            Param(
                "min_score",
                "int",
                3,
                "Score to alert",
                "Deletes 2, rare folder 2, listed word 2, marks read 1, forwards 1, odd name 1.",
                1,
                10,
            ),
            Param(
                "require_intent",
                "bool",
                True,
                "Require intent",
                "Hiding traits alone never alert: a listed word, an odd name or a forward must be there too.",
            ),
        )
    )
    trigger_kinds = frozenset({Event.Kind.INBOX_RULE_CREATED, Event.Kind.INBOX_RULE_CHANGED})
    context_kinds = RULE_KINDS

    def context_span(self, params):
        return RULE_HISTORY

    def wants_context(self, baseline, triggers, params):
        """Only a change needs the rule's earlier state."""
        return any(event.kind == Event.Kind.INBOX_RULE_CHANGED for event in triggers)

    def detect(self, ctx, identity_id, triggers, params):
        folders = params["rare_folders"]
        keywords = [word.lower() for word in params["keywords"]]
        reasons: dict[str, str] = {}
        events: list[Event] = []
        scored: list[dict] = []
        wanted = {event.pk for event in triggers}
        history = [
            event
            for event in ctx.events_of(identity_id, RULE_KINDS)
            if event.pk not in wanted and not is_failed_change(event)  # a failed Set-InboxRule changed nothing
        ]
        states = rule_states(sorted([*history, *triggers], key=lambda event: (event.occurred_at, event.pk)))
        for event in triggers:
            rule = states[event.pk]
            traits: list[tuple[int, str]] = []
            if rule.deletes:
                traits.append((2, "deletes mail"))
            rare = rule.move_to_folder and folder_matches(rule.folder_name, folders)
            if rare:
                traits.append((2, f"moves mail to {quote(rule.folder_name)}"))
            elif rule.folder_is_id:
                traits.append((1, "moves mail to a folder named only by its id"))
            matched = sorted({word for word in keywords for condition in rule.keywords if word in condition.lower()})
            if matched:
                traits.append((2, f"acts on mail containing {', '.join(quote(word, 30) for word in matched)}"))
            if rule.marks_read:
                traits.append((1, "marks mail read"))
            if rule.forwards:
                traits.append((1, "forwards mail"))
            if rule.name and not any(character.isalnum() for character in rule.name):
                traits.append((1, f"is named {quote(rule.name)}"))
            colleagues = [sender for sender in rule.senders if "@" in sender and ctx.is_internal(sender)]
            if colleagues and (rule.deletes or rare):
                # Intruders hide the colleagues who would notice (IT, finance); people file newsletters.
                traits.append((1, f"only for mail from {', '.join(quote(s, 40) for s in colleagues[:3])}"))
            score = sum(points for points, _ in traits)
            scored.append({"rule": rule.name, "score": score, "traits": [text for _, text in traits]})
            hidden = rare and not folder_matches(rule.folder_name, USERS_OWN_FOLDERS)
            odd_name = any(text.startswith("is named") for _, text in traits)
            intent = bool(matched or rule.forwards or hidden or odd_name or colleagues)
            if score >= params["min_score"] and (intent or not params["require_intent"]):
                events.append(event)
                # Named rules keep the reason code they always had (folds match it); unnamed ones their id.
                reasons[f"rule:{rule.name or rule.key}"] = (
                    f"Inbox rule {quote(rule.name or '(no name)')} {', '.join(text for _, text in traits)} "
                    f"(score {score}, alert at {params['min_score']})."
                )
        if not reasons:
            return []
        return [
            Detection(
                identity_id=identity_id,
                title="Inbox rule that hides mail",
                reasons=reasons,
                events=events,
                evidence={"rules": scored, "min_score": params["min_score"]},
            )
        ]

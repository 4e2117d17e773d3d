"""Suspicious inbox rule: a rule that hides mail from its owner.

Attackers in a mailbox hide replies and warnings: rules that delete mail, mark it read or move
it to a folder nobody looks at (RSS Feeds, Conversation History, Archive), keyed on words like
invoice, payment or wire, often with a name of one or two dots. Each trait scores points;
the rule fires at the threshold, so "move newsletters to Newsletters" stays quiet while
"move mail about invoices to RSS Feeds and mark it read" does not.

Scores: deletes 2, moves to a rarely used folder 2, keyed on a listed word 2, marks read 1,
forwards 1, a name with no letters or digits 1. Hiding alone is what people do with their own
mail ("newsletters → Archive, mark read", "[SPAM] → Junk Email"): by default a rule alerts only
when it also shows intent (a listed word, a name meant to go unnoticed, a forward, or a folder
such as RSS Feeds or Conversation History that nobody files mail into).
"""

from datetime import timedelta

from alerts.activity.rules import inbox_rule
from alerts.detectors.base import Detection, Detector, quote
from alerts.detectors.params import Param, ParamSchema
from alerts.models import Event, Severity

DEFAULT_FOLDERS = [
    "RSS Feeds",
    "RSS Subscriptions",
    "Conversation History",
    "Archive",
    "Deleted Items",
    "Junk Email",
]
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


# Rarely used folders that people still file their own mail into; RSS Feeds or Conversation
# History are where nobody looks, so moving mail there shows intent by itself.
USERS_OWN_FOLDERS = {"archive", "junk email", "deleted items"}


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
                "Moving mail to one of these folders hides it.",
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

    def context_span(self, params):
        return timedelta(0)

    def detect(self, ctx, identity_id, triggers, params):
        folders = {folder.lower() for folder in params["rare_folders"]}
        keywords = [word.lower() for word in params["keywords"]]
        reasons: dict[str, str] = {}
        events: list[Event] = []
        scored: list[dict] = []
        for event in triggers:
            rule = inbox_rule(event)
            traits: list[tuple[int, str]] = []
            if rule.deletes:
                traits.append((2, "deletes mail"))
            if rule.move_to_folder and rule.folder_name.lower() in folders:
                traits.append((2, f"moves mail to {quote(rule.folder_name)}"))
            matched = sorted({word for word in keywords for condition in rule.keywords if word in condition.lower()})
            if matched:
                traits.append((2, f"acts on mail containing {', '.join(quote(word, 30) for word in matched)}"))
            if rule.marks_read:
                traits.append((1, "marks mail read"))
            if rule.forwards:
                traits.append((1, "forwards mail"))
            if rule.name and not any(character.isalnum() for character in rule.name):
                traits.append((1, f"is named {quote(rule.name)}"))
            score = sum(points for points, _ in traits)
            scored.append({"rule": rule.name, "score": score, "traits": [text for _, text in traits]})
            hidden = rule.move_to_folder and rule.folder_name.lower() in folders - USERS_OWN_FOLDERS
            odd_name = any(text.startswith("is named") for _, text in traits)
            intent = bool(matched or rule.forwards or hidden or odd_name)
            if score >= params["min_score"] and (intent or not params["require_intent"]):
                events.append(event)
                reasons[f"rule:{rule.name}"] = (
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

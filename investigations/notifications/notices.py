"""What a notification says: a ``Notice`` per event, and how each channel format writes it.

Titles and texts carry attacker-controlled words (alert titles, rule names, UPNs), so every
format escapes what its receiver would interpret: Slack's ``& < >`` (links and mentions),
Teams' markdown. E-mail is plain text.
"""

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert
from investigations.models import Action, Investigation, NotificationEvent, NotificationRule

E = NotificationEvent


@dataclass
class Notice:
    event: str
    title: str
    text: str
    url: str
    severity: str = ""
    details: dict = field(default_factory=dict)

    def as_payload(self) -> dict:
        return asdict(self)


def _link(name: str, *args) -> str:
    return settings.PORTAL_BASE_URL + reverse(name, args=args)


def notice_for(event: str, object_id: int) -> Notice | None:
    """The notice of ``event`` about row ``object_id``; None when the row is gone."""
    if event == E.ALERT_HIGH:
        alert = Alert.objects.select_related("identity").filter(pk=object_id).first()
        if alert is None:
            return None
        upn = alert.identity.upn if alert.identity is not None else None
        return Notice(
            event=event,
            title=f"High-severity alert: {alert.title}",
            text=f"{upn or 'No user'}: {alert.description or alert.detector}",
            url=_link("alerts:alert_detail", alert.pk),
            severity=alert.severity,
            details={"alert": alert.pk, "user": upn, "subjects": alert.subject_names, "detector": alert.detector},
        )
    if event == E.INVESTIGATION_PENDING_ACTION:
        investigation = Investigation.objects.select_related("identity").filter(pk=object_id).first()
        if investigation is None:
            return None
        pending = investigation.actions.filter(status=Action.Status.PENDING_APPROVAL).count()
        return Notice(
            event=event,
            title=f"Approval needed: investigation #{investigation.pk} of {investigation.identity.upn}",
            text=f"Verdict {investigation.verdict or 'not reached'}, risk {investigation.risk_score}; "
            f"{pending} action(s) wait for approval.",
            url=_link("investigations:investigation_detail", investigation.pk),
            details={"investigation": investigation.pk, "user": investigation.identity.upn, "pending": pending},
        )
    if event in (E.ACTION_PAST_SLA, E.ACTION_FAILED):
        action = Action.objects.select_related("identity").filter(pk=object_id).first()
        if action is None:
            return None
        details = {"action": action.pk, "kind": action.kind, "user": action.identity.upn, "target": action.target}
        if event == E.ACTION_FAILED:
            return Notice(
                event=event,
                title=f"Action failed: {action.get_kind_display()} for {action.identity.upn}",
                text=action.error or "The connector reported a failure.",
                url=_link("investigations:investigation_detail", action.investigation_id),
                details=details,
            )
        waited = int((timezone.now() - action.created_at) / timedelta(minutes=1))
        return Notice(
            event=event,
            title=f"Waiting for approval for {waited} min: {action.get_kind_display()} for {action.identity.upn}",
            text=f"Target: {action.target}. The SLA for decisions is exceeded.",
            url=_link("investigations:action_center"),
            details=details,
        )
    if event == E.TEST:
        return Notice(
            event=event,
            title="AIR Portal test notification",
            text="If you read this, the rule works.",
            url=_link("dashboard"),
        )
    raise ValueError(f"unknown notification event {event!r}")


# --- Formats -------------------------------------------------------------------------------------


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~])")


def _markdown_escape(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", text)


def webhook_body(rule_format: str, payload: dict) -> bytes:
    """The JSON body for a generic, Slack or Teams receiver."""
    title, text, url = payload["title"], payload["text"], payload["url"]
    if rule_format == NotificationRule.Format.SLACK:
        body = {
            "text": _slack_escape(title),
            "blocks": [
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": f"*<{url}|{_slack_escape(title)}>*\n{_slack_escape(text)}"},
                }
            ],
        }
    elif rule_format == NotificationRule.Format.TEAMS:
        body = {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {"type": "TextBlock", "text": _markdown_escape(title), "weight": "Bolder", "wrap": True},
                            {"type": "TextBlock", "text": _markdown_escape(text), "wrap": True},
                        ],
                        "actions": [{"type": "Action.OpenUrl", "title": "Open in AIR Portal", "url": url}],
                    },
                }
            ],
        }
    else:
        body = {"source": "air-portal", **payload}
    return json.dumps(body).encode()


def email_message(payload: dict) -> tuple[str, str]:
    """Subject and plain-text body."""
    subject = f"[AIR Portal] {payload['title']}".replace("\n", " ")[:200]
    lines = [payload["text"], "", payload["url"]]
    for key, value in payload.get("details", {}).items():
        lines.append(f"{key}: {value}")
    return subject, "\n".join(lines)

"""An alert from another product (Microsoft Graph security alerts) becomes an alert on the identity,
or, when it names no user (a device or an app), an alert about no user that names them instead.

Each source alert is one of ours (folded by the source's alert id, so updates of the same
Defender alert do not multiply). Resolved source alerts and those below the minimum severity
are left out; the source's severity is kept when asked to, else the policy's applies.
"""

from datetime import timedelta

from airportal.text import short_list
from alerts.activity.fields import attr
from alerts.detectors.base import Detection, Detector, quote
from alerts.detectors.params import Param, ParamSchema
from alerts.models import SEVERITY_RANK, Event, Severity


class ExternalAlert(Detector):
    key = "external_alert"
    name = "Alert from another product"
    description = "A Microsoft Graph security alert (Defender, Entra ID Protection, …) about this identity."
    severity = Severity.MEDIUM
    schema = ParamSchema(
        (
            Param(
                "min_severity",
                "choice",
                Severity.LOW.value,
                "Minimum source severity",
                "Source alerts below this severity are left out.",
                choices=tuple(Severity.values),
            ),
            Param("ignore_statuses", "list", ["resolved"], "Ignored statuses", "Source statuses left out."),
            Param(
                "use_source_severity",
                "bool",
                True,
                "Keep the source's severity",
                "Otherwise the policy's severity applies.",
            ),
        )
    )
    trigger_kinds = frozenset({Event.Kind.EXTERNAL_ALERT})
    judges_unattributed = True

    def context_span(self, params):
        return timedelta(0)

    def detect(self, ctx, identity_id, triggers, params):
        ignored = {status.lower() for status in params["ignore_statuses"]}
        minimum = SEVERITY_RANK[params["min_severity"]]
        findings = []
        for event in triggers:
            severity = str(attr(event, "severity", default="")).lower()
            status = str(attr(event, "status", default="")).lower()
            if status in ignored or SEVERITY_RANK.get(severity, -1) < minimum:
                continue
            title = str(attr(event, "title", default="") or event.subject or "Alert")
            product = str(attr(event, "product_name", "service_source", default=""))
            alert_id = str(attr(event, "alert_id", "provider_alert_id", default="") or event.source_record_id)
            subjects = _subjects(event)
            on = _on(subjects)
            findings.append(
                Detection(
                    identity_id=identity_id,
                    title=f"{title[:200]}{on}"[:300],
                    reasons={
                        f"external:{alert_id}": (
                            f"{product or 'Another product'} raised {quote(title, 120)} with {severity or 'no'} "
                            f"severity (status {status or 'unknown'}){on}."
                        )
                    },
                    events=[event],
                    evidence={
                        **subjects,
                        "source_alert_id": alert_id,
                        "source_severity": severity,
                        "source_status": status,
                        "category": str(attr(event, "category", default="")),
                        "product": product,
                        **_source_link(event),
                    },
                    fold_key=f"external:{alert_id}"[:200],
                    severity=severity if params["use_source_severity"] and severity in SEVERITY_RANK else None,
                )
            )
        return findings


def _subjects(event: Event) -> dict[str, list[str]]:
    """The devices and apps an alert about no user names: what the queue shows in place of a user."""
    if event.identity_id is not None:
        return {}
    return {name: list(attr(event, name, default=[]))[:20] for name in ("devices", "apps") if attr(event, name)}


def _on(subjects: dict[str, list[str]]) -> str:
    """`` on laptop-17.contoso.com and 2 more``: where an alert about no user happened, so the
    queue's title search finds it by device or app name."""
    names = [name[:80] for values in subjects.values() for name in values]
    return f" on {short_list(names, 1)}" if names else ""


def _source_link(event: Event) -> dict[str, str]:
    """The alert's page in the source product (Defender's ``alertWebUrl``), https only: the
    console links it, and any other scheme (``javascript:``) must never become a link."""
    url = str(attr(event, "alert_web_url", default="") or "")
    return {"source_url": url} if url.lower().startswith("https://") and len(url) <= 1000 else {}

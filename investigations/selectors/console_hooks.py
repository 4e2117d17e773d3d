"""What the alert console shows of investigations, installed into ``alerts.console_hooks`` (AppConfig.ready).

The alerts app cannot import this app (apps depend one way); it asks through these hooks.
"""

from django.urls import reverse

from alerts.console_hooks import hooks
from investigations.models import Finding, Investigation


def _summary(investigation: Investigation | dict) -> dict:
    get = investigation.get if isinstance(investigation, dict) else lambda name: getattr(investigation, name)
    status, verdict = get("status"), get("verdict")
    return {
        "id": get("id"),
        "status": status,
        "status_label": Investigation.Status(status).label,
        "verdict": verdict,
        "verdict_label": Investigation.Verdict(verdict).label if verdict else "",
        "risk_score": get("risk_score"),
        "url": reverse("investigations:investigation_detail", args=[get("id")]),
    }


def finding_event_ids_hook(event_ids: list[int]) -> set[int]:
    through = Finding.events.through.objects.filter(event_id__in=event_ids)
    return set(through.values_list("event_id", flat=True).distinct())


def alert_investigations_hook(alert_ids: list[int]) -> dict[int, dict]:
    """Each alert's latest investigation, in one query."""
    if not alert_ids:
        return {}
    rows = (
        Investigation.alerts.through.objects.filter(alert_id__in=alert_ids)
        .order_by("alert_id", "investigation_id")
        .values(
            "alert_id",
            "investigation_id",
            "investigation__status",
            "investigation__verdict",
            "investigation__risk_score",
        )
    )
    found = {}
    for row in rows:  # later investigations overwrite earlier ones
        found[row["alert_id"]] = _summary(
            {
                "id": row["investigation_id"],
                "status": row["investigation__status"],
                "verdict": row["investigation__verdict"],
                "risk_score": row["investigation__risk_score"],
            }
        )
    return found


def identity_investigation_hook(identity_id: int) -> dict:
    """The identity's latest investigation, and whether it is open (one query).

    At most one investigation per identity is open, and none starts while it is, so an open
    one is always the latest.
    """
    latest = (
        Investigation.objects.filter(identity_id=identity_id)
        .order_by("-created_at", "-id")
        .values("id", "status", "verdict", "risk_score")
        .first()
    )
    return {
        "open": _summary(latest) if latest and latest["status"] in Investigation.OPEN_STATUSES else None,
        "latest": _summary(latest) if latest else None,
        "start_url": reverse("investigations:investigation_start"),
    }


def console_hooks_install() -> None:
    """Let the alert console link to investigations and mark finding evidence (AppConfig.ready)."""
    hooks.finding_event_ids = finding_event_ids_hook
    hooks.alert_investigations = alert_investigations_hook
    hooks.identity_investigation = identity_investigation_hook

"""Raising alerts: create one, or fold a repeat into the open alert it belongs to.

Folding rule: a finding joins the open alert (``new`` or ``in_progress``) of the same detector
and identity whose activity lies within the policy's fold window of the finding's activity.
Otherwise a new alert is inserted under ``dedup_key`` = the fold-window bucket of its first
activity (or the source's own id, for external alerts). The ``alert_fold_unique`` constraint
makes that insert the arbiter between concurrent workers: the loser of the race catches the
conflict inside a savepoint and folds into the winner's row, locked, so nothing is counted
twice. A closed alert is never reopened by new activity: the next key (``…#2``) is used.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction

from alerts.detectors.base import Detection
from alerts.models import SEVERITY_RANK, Alert, AlertPolicy, Identity
from alerts.signals import alert_raised

OPEN_STATUSES = (Alert.Status.NEW, Alert.Status.IN_PROGRESS)
MAX_REASONS = 50
MAX_EVIDENCE_ITEMS = 50
MAX_KEY_ATTEMPTS = 50


@dataclass(frozen=True)
class RaiseResult:
    alert: Alert
    created: bool
    new_events: int


def _bucket_key(moment: datetime, window: timedelta) -> str:
    seconds = int(window.total_seconds())
    start = datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, tz=UTC)
    return f"{seconds // 3600}h:{start:%Y-%m-%dT%H:%M}"


def describe(reasons: dict[str, str]) -> str:
    """The alert's plain-words description: one line per reason, most recent last."""
    lines = list(reasons.values())
    return "\n".join(lines)


def merge_evidence(old: dict, new: dict) -> dict:
    """Lists of compared values accumulate (capped); single values take the latest."""
    merged = dict(old)
    for key, value in new.items():
        if key == "reasons":
            continue
        if isinstance(value, list) and isinstance(merged.get(key), list):
            combined = merged[key] + [item for item in value if item not in merged[key]]
            merged[key] = combined[-MAX_EVIDENCE_ITEMS:]
        else:
            merged[key] = value
    return merged


def _merge_reasons(old: dict[str, str], new: dict[str, str]) -> dict[str, str]:
    merged = dict(old)
    for code, sentence in new.items():
        if code in merged or len(merged) < MAX_REASONS:
            merged[code] = sentence
    return merged


def alert_raise(
    *,
    policy: AlertPolicy,
    identity: Identity,
    finding: Detection,
    fold_window: timedelta,
    retitle: Callable[[dict[str, str]], str | None] | None = None,
) -> RaiseResult:
    """Create or fold the alert for ``finding``; send ``alert_raised`` when anything new arrived.

    ``retitle`` lets a detector recompute the title from the merged reasons when a fold adds
    a new kind of reason.
    """
    severity = finding.severity or policy.severity
    with transaction.atomic():
        alert = _open_alert(policy.detector, identity, finding, fold_window)
        created = False
        if alert is None:
            alert, created = _insert(policy, identity, finding, fold_window, severity)
        new_events = _attach_events(alert, finding)
        folded = not created and _fold(alert, finding, severity, new_events, retitle)
        if created or folded:
            alert_raised.send(sender=Alert, alert=alert, created=created)
    return RaiseResult(alert=alert, created=created, new_events=new_events)


def _open_alert(detector: str, identity: Identity, finding: Detection, window: timedelta) -> Alert | None:
    alerts = Alert.objects.select_for_update().filter(detector=detector, identity=identity)
    if finding.fold_key:
        return alerts.filter(dedup_key=finding.fold_key).first()
    return (
        alerts.filter(
            status__in=OPEN_STATUSES,
            last_activity_at__gte=finding.first_at - window,
            first_activity_at__lte=finding.last_at + window,
        )
        .order_by("-last_activity_at", "-id")
        .first()
    )


def _insert(policy, identity, finding, window, severity) -> tuple[Alert, bool]:
    base = finding.fold_key or _bucket_key(finding.first_at, window)
    reasons = _merge_reasons({}, finding.reasons)
    for attempt in range(1, MAX_KEY_ATTEMPTS + 1):
        key = base if attempt == 1 else f"{base}#{attempt}"
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    policy=policy,
                    policy_version=policy.version,
                    detector=policy.detector,
                    identity=identity,
                    title=finding.title[:300],
                    description=describe(reasons),
                    evidence={**merge_evidence({}, finding.evidence), "reasons": reasons},
                    severity=severity,
                    dedup_key=key[:200],
                    event_count=len({event.pk for event in finding.events}),
                    first_activity_at=finding.first_at,
                    last_activity_at=finding.last_at,
                )
            return alert, True
        except IntegrityError:
            existing = Alert.objects.select_for_update().get(
                detector=policy.detector, identity=identity, dedup_key=key[:200]
            )
            if finding.fold_key or existing.status in OPEN_STATUSES:
                return existing, False
    raise IntegrityError(f"no free alert key after {MAX_KEY_ATTEMPTS} closed alerts under {base!r}")


def _attach_events(alert: Alert, finding: Detection) -> int:
    """Link the finding's events not linked yet; the number added (redelivery adds none)."""
    through = Alert.events.through
    wanted = {event.pk for event in finding.events}
    linked = set(through.objects.filter(alert_id=alert.pk, event_id__in=wanted).values_list("event_id", flat=True))
    new = sorted(wanted - linked)
    through.objects.bulk_create([through(alert_id=alert.pk, event_id=pk) for pk in new], ignore_conflicts=True)
    return len(new)


def _fold(alert: Alert, finding: Detection, severity: str, new_events: int, retitle) -> bool:
    """Fold the finding in; False when it brings nothing new. An event judged again (a sign-in
    whose richer copy arrived late) may bring a new reason or a higher severity on events
    already linked: that is news too."""
    old_reasons = alert.evidence.get("reasons", {})
    raises = SEVERITY_RANK.get(severity, 0) > SEVERITY_RANK.get(alert.severity, 0)
    reasons = _merge_reasons(old_reasons, finding.reasons)
    if not new_events and not raises and reasons.keys() == old_reasons.keys():
        return False
    alert.evidence = {**merge_evidence(alert.evidence, finding.evidence), "reasons": reasons}
    alert.description = describe(reasons)
    alert.title = ((retitle(reasons) if retitle else None) or alert.title)[:300]
    alert.event_count += new_events
    alert.first_activity_at = min(alert.first_activity_at, finding.first_at)
    alert.last_activity_at = max(alert.last_activity_at, finding.last_at)
    if raises:
        alert.severity = severity
    alert.save(
        update_fields=[
            "evidence",
            "description",
            "title",
            "first_activity_at",
            "last_activity_at",
            "severity",
            "event_count",
            "updated_at",
        ]
    )
    return True

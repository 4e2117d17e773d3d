"""Seams through which `investigations` enriches the alert console without `alerts` importing it.

DESIGN.md has `alerts` never import `investigations`. The alert queue still wants a link to
each alert's investigation, the timeline wants to mark the events findings rest on and to show
the identity's investigation; ``investigations`` installs these functions in its
``AppConfig.ready()``. Until then (or in a project without it) they answer "nothing".
Each installed function must answer in one query, whatever the number of ids.
"""

from collections.abc import Callable
from dataclasses import dataclass


def _no_events(event_ids: list[int]) -> set[int]:
    return set()


def _no_alert_investigations(alert_ids: list[int]) -> dict[int, dict]:
    return {}


def _no_identity_investigation(identity_id: int) -> dict:
    return {"open": None, "latest": None, "start_url": ""}


@dataclass
class ConsoleHooks:
    # event ids -> those a finding rests on
    finding_event_ids: Callable[[list[int]], set[int]] = _no_events
    # alert ids -> {alert id: {"id", "status", "status_label", "verdict", "url"}}
    alert_investigations: Callable[[list[int]], dict[int, dict]] = _no_alert_investigations
    # identity id -> {"open": {...} | None, "latest": {...} | None, "start_url": str}
    identity_investigation: Callable[[int], dict] = _no_identity_investigation


hooks = ConsoleHooks()

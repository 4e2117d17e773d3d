"""Running an approved action exactly once.

``action_execute`` is what the ``investigations.run_action`` task does: claim the action with a
conditional UPDATE (approved → running), call the connector once with the action's idempotency
key, and end in ``succeeded`` or ``failed`` with the answer stored. Only ``TransientError`` is
retried, after ``retry_after`` (Retry-After) or an exponential backoff, both capped; after
``REMEDIATION_MAX_ATTEMPTS`` the action fails with the last error. A redelivered task finds the
action no longer ``approved`` and does nothing.

``succeeded`` means the connector read the changed state back and saw it (``VerificationFailed``
otherwise, which fails the action with what the read-back saw). The read-back is kept in
``result["data"]["read_back"]``. An undo snapshot a connector stores before acting
(``action_undo_state_keep``) outlives a lost reply: the retry finds it and answers with it.
"""

import logging
import random

from django.conf import settings

from investigations.connectors import get_connector
from investigations.connectors.base import ConnectorError, PermanentError, TransientError, VerificationFailed
from investigations.models import Action
from investigations.services.actions import action_claim, action_fail, action_retry_later, action_succeed

logger = logging.getLogger(__name__)


def remediation_settings() -> tuple[int, float, float]:
    """(max attempts, first backoff seconds, backoff cap seconds), from settings."""
    return (
        int(getattr(settings, "REMEDIATION_MAX_ATTEMPTS", 5)),
        float(getattr(settings, "REMEDIATION_BACKOFF_SECONDS", 2.0)),
        float(getattr(settings, "REMEDIATION_BACKOFF_CAP_SECONDS", 300.0)),
    )


def retry_delay(*, attempt: int, retry_after: float | None, first: float, cap: float) -> float:
    """Seconds to wait before attempt ``attempt + 1``: Retry-After if the service gave one, else
    exponential backoff with jitter; never more than ``cap``."""
    if retry_after is not None and retry_after >= 0:
        return min(float(retry_after), cap)
    backoff = first * (2 ** max(attempt - 1, 0))
    return min(backoff * random.uniform(0.8, 1.2), cap)


def action_execute(*, action_id: int) -> float | None:
    """Run the action if it is approved; the delay before a retry, or None when it is settled or not ours."""
    max_attempts, first, cap = remediation_settings()
    connector = get_connector()
    action = action_claim(action_id=action_id, connector=connector.name, max_attempts=max_attempts)
    if action is None:
        logger.info("Action %s is not approved (already running, finished or gone): nothing to do", action_id)
        return None
    try:
        result = connector.run(action)
    except TransientError as exc:
        if action.attempts >= max_attempts:
            action_fail(action=action, error=f"{exc.message} (gave up after {action.attempts} attempts)")
            return None
        delay = retry_delay(attempt=action.attempts, retry_after=exc.retry_after, first=first, cap=cap)
        action_retry_later(action=action, error=exc.message, delay=delay)
        return delay
    except VerificationFailed as exc:
        action_fail(action=action, error=f"{exc.message} Read back: {_seen_text(exc.seen)}")
        return None
    except PermanentError as exc:
        action_fail(action=action, error=exc.message)
        return None
    except ConnectorError as exc:
        action_fail(action=action, error=exc.message)
        return None
    except Exception as exc:  # a bug or an unexpected answer: fail visibly rather than retry blindly
        logger.exception("Connector %s crashed on action %s", connector.name, action_id)
        action_fail(
            action=action, error=f"Unexpected error in the {connector.name} connector: {type(exc).__name__}: {exc}"
        )
        return None
    action_succeed(
        action=action,
        detail=result.detail,
        data={**result.data, "read_back": result.read_back} if result.read_back else result.data,
        undo_state=result.undo_state,
        already_done=result.already_done,
    )
    return None


def action_undo_state_keep(*, action: Action, undo_state: dict) -> dict:
    """Store ``undo_state`` on a running action unless an earlier attempt stored one; the one kept.

    Connectors call it (``Connector.keep_undo_state``) before changing the tenant.
    """
    earlier = (action.result or {}).get("undo_state")
    if earlier:
        return earlier
    stored = {**(action.result or {}), "undo_state": undo_state}
    Action.objects.filter(pk=action.pk).update(result=stored)
    action.result = stored
    return undo_state


def _seen_text(seen: dict) -> str:
    return "; ".join(f"{key}: {value}" for key, value in seen.items())[:1500] or "nothing"

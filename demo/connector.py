"""The simulated connector: remediation against the tenant kept in the database.

It behaves like a careful Graph client: every call is recorded under the action's
idempotency key (``SimulatedOperation``), the change is applied at most once per key, and a
repeated call answers the stored result with ``already_done``. ``SimulatedFault`` rows make
it answer 429 with Retry-After, 503, a permanent 403, slowly, or "done" without doing it, so
tests and demos exercise the real retry and failure paths of ``investigations.services.remediation``.

Like the msgraph connector it reads back what it changed (``demo.services.simulated_remaining``)
and raises ``VerificationFailed`` when the tenant does not show the change.
"""

import time

from django.db import OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.models import Identity
from demo.models import (
    SimulatedAccount,
    SimulatedAppConsent,
    SimulatedFault,
    SimulatedInboxRule,
    SimulatedMailboxPermission,
    SimulatedMessage,
    SimulatedOperation,
)
from demo.services import simulated_account_locked, simulated_remaining, simulated_tenant_sync
from demo.state import simulated_live_state
from investigations.connectors.base import (
    Connector,
    ConnectorResult,
    PermanentError,
    TransientError,
    VerificationFailed,
)
from investigations.connectors.reads import mailbox_and_folder
from investigations.connectors.state import LiveState
from investigations.models import Action

Mode = SimulatedFault.Mode


class SimulatedConnector(Connector):
    name = "simulated"

    def read_state(self, upn: str) -> LiveState:
        """The account as the tenant holds it now (``demo.state``). A playbook run's mirror
        (``demo.receivers``) has caught the tenant up with ingestion just before."""
        return simulated_live_state(upn)

    def run(self, action: Action) -> ConnectorResult:
        """The tenant's answer to ``action``. The tenant lives in our database: when PostgreSQL aborts
        one of two transactions that lock each other (a mirror sync, another action), the call is as
        good as a 503 and is retried like one; nothing of it was applied."""
        try:
            return self._run(action)
        except OperationalError as exc:
            reason = str(exc).splitlines()[0]
            raise TransientError(f"503 Service Unavailable: the simulated tenant aborted the call ({reason}).") from exc

    def _run(self, action: Action) -> ConnectorResult:
        simulated_tenant_sync(identity_ids=[action.identity_id])
        stored, fault = self._register_call(action)
        if stored is not None:
            return stored
        slow_after = _answer_fault(fault)
        result = self._apply(action, ignore=fault is not None and fault.mode == Mode.IGNORE)
        if slow_after:
            time.sleep(slow_after)
        return result

    # --- bookkeeping ---------------------------------------------------------------------------

    @transaction.atomic
    def _register_call(self, action: Action) -> tuple[ConnectorResult | None, SimulatedFault | None]:
        """Count the call, then (stored result, None) if this key was already applied, else
        (None, the next matching fault, consumed). One transaction: what it counted stays counted."""
        first = SimulatedOperation(
            idempotency_key=action.idempotency_key, kind=action.kind, undo=action.is_undo, target=action.target[:512]
        )
        SimulatedOperation.objects.bulk_create([first], ignore_conflicts=True)  # a repeat keeps the first row
        calls = SimulatedOperation.objects.filter(idempotency_key=action.idempotency_key)
        calls.update(calls=F("calls") + 1)
        operation = calls.get()
        if operation.applied_at:
            return _stored(operation), None
        fault = (
            SimulatedFault.objects.select_for_update()
            .filter(Q(kind="") | Q(kind=action.kind), remaining__gt=0)
            .order_by("id")
            .first()
        )
        if fault is not None:
            SimulatedFault.objects.filter(pk=fault.pk).update(remaining=F("remaining") - 1)
            if fault.mode in (Mode.THROTTLE, Mode.UNAVAILABLE, Mode.REFUSE):
                calls.update(last_error=fault.message or _FAULT_MESSAGES[fault.mode])
        return None, fault

    @transaction.atomic
    def _apply(self, action: Action, *, ignore: bool = False) -> ConnectorResult:
        """Act, then read back; ``ignore`` (a fault) rolls the change back before the read-back."""
        operation = SimulatedOperation.objects.select_for_update().get(idempotency_key=action.idempotency_key)
        if operation.applied_at:  # a concurrent duplicate applied it while we waited for the lock
            return _stored(operation)
        since = timezone.now()
        savepoint = transaction.savepoint()
        result = super().run(action)  # the kind's method below, or undo
        if ignore:
            transaction.savepoint_rollback(savepoint)
        else:
            transaction.savepoint_commit(savepoint)
        result.read_back = _read_back(action, since=since)
        operation.applied_at = timezone.now()
        operation.result = {"detail": result.detail, "data": result.data, "undo_state": result.undo_state,
                            "read_back": result.read_back}  # fmt: skip
        operation.last_error = ""
        operation.save()
        return result

    # --- one method per action kind, plus undo (called inside ``_apply``'s transaction) ------------

    def revoke_sessions(self, action: Action) -> ConnectorResult:
        return _result(_revoke_sessions(action, _account(action)))

    def reset_password(self, action: Action) -> ConnectorResult:
        return _result(_reset_password(action, _account(action)))

    def disable_account(self, action: Action) -> ConnectorResult:
        return _result(_disable_account(action, _account(action)))

    def remove_inbox_rule(self, action: Action) -> ConnectorResult:
        return _result(_remove_inbox_rule(action, _account(action)))

    def disable_mailbox_forwarding(self, action: Action) -> ConnectorResult:
        return _result(_disable_mailbox_forwarding(action, _account(action)))

    def remove_mailbox_permission(self, action: Action) -> ConnectorResult:
        return _result(_remove_mailbox_permission(action, _account(action)))

    def restrict_sending(self, action: Action) -> ConnectorResult:
        return _result(_restrict_sending(action, _account(action)))

    def soft_delete_messages(self, action: Action) -> ConnectorResult:
        return _result(_soft_delete_messages(action, _account(action)))

    def revoke_app_consent(self, action: Action) -> ConnectorResult:
        return _result(_revoke_app_consent(action, _account(action)))

    def remove_mfa_method(self, action: Action) -> ConnectorResult:
        return _result(_remove_rows(action, _account(action), "MFA method(s)", "the user registers again"))

    def remove_mobile_device(self, action: Action) -> ConnectorResult:
        return _result(_remove_rows(action, _mailbox(action), "ActiveSync partnership(s)", "the phone must set up "
                                    "the account again to sync"))  # fmt: skip

    def undo(self, action: Action) -> ConnectorResult:
        if action.kind not in _UNDO:
            return super().undo(action)
        return _result(_UNDO[action.kind](action, _account(action)))


_FAULT_MESSAGES = {
    Mode.THROTTLE: "429 Too Many Requests: the tenant is throttling requests.",
    Mode.UNAVAILABLE: "503 Service Unavailable.",
    Mode.REFUSE: "403 Forbidden: the app registration lacks the permission for this operation.",
}


def _answer_fault(fault: SimulatedFault | None) -> float:
    """Raise the fault's error, or sleep before acting; the seconds to sleep after acting."""
    if fault is None:
        return 0.0
    message = fault.message or _FAULT_MESSAGES.get(fault.mode, "")
    if fault.mode == Mode.THROTTLE:
        raise TransientError(message, retry_after=fault.retry_after)
    if fault.mode == Mode.UNAVAILABLE:
        raise TransientError(message)
    if fault.mode == Mode.REFUSE:
        raise PermanentError(message)
    if fault.mode == Mode.SLOW_BEFORE:
        time.sleep(fault.delay_seconds)
        return 0.0
    return fault.delay_seconds


def _result(answer: tuple[str, dict, dict]) -> ConnectorResult:
    detail, data, undo_state = answer
    return ConnectorResult(detail=detail, data=data, undo_state=undo_state)


def _stored(operation: SimulatedOperation) -> ConnectorResult:
    result = operation.result
    return ConnectorResult(
        detail=result.get("detail", ""),
        data=result.get("data", {}),
        undo_state=result.get("undo_state", {}),
        already_done=True,
        read_back=result.get("read_back", {}),
    )


def _read_back(action: Action, *, since) -> dict:
    """What the tenant shows now for ``action``; raises ``VerificationFailed`` if it is not done.

    An undo is confirmed by the opposite: what the action removed is there again (when there was
    something to put back).
    """
    original = action.undo_of if action.is_undo else action
    mailbox = _mailbox(original)
    remaining = [str(row) for row in simulated_remaining(original, mailbox, since=since)[:20]]
    if not action.is_undo and remaining:
        raise VerificationFailed(f"The simulated tenant still shows what {action} should have changed.",
                                 {"still_there": remaining})  # fmt: skip
    if action.is_undo and _undo_expects(action) and not remaining:
        raise VerificationFailed(f"The simulated tenant does not show {original} undone.", {"found": []})
    return {"found": remaining} if action.is_undo else {"still_there": []}


def _undo_expects(action: Action) -> bool:
    """Whether undoing ``action.undo_of`` puts something back (a disabled account stays disabled)."""
    state = _state(action)
    if action.kind == K.DISABLE_ACCOUNT:
        return state.get("enabled") is True
    if action.kind == K.RESTRICT_SENDING:
        return state.get("sending_restricted") is False
    return any(state.get(key) for key in ("rule", "forwarding_address", "permissions", "message_ids", "consents"))


def _mailbox(action: Action) -> SimulatedAccount:
    """The account whose mailbox the action changes: ``parameters["mailbox"]`` (a folder's identity
    ``mailbox:\\folder`` names its mailbox), else the user's."""
    return _account(action, mailbox_and_folder(action.parameters.get("mailbox") or "")[0])


def _account(action: Action, upn: str | None = None) -> SimulatedAccount:
    """The (locked) simulated account of ``upn``, or of the action's identity."""
    if upn:
        identity = Identity.objects.filter(upn=upn.lower()).first()
        if identity is None:
            raise PermanentError(f"404 Not Found: no mailbox {upn} in the tenant.")
        identity_id = identity.pk
    else:
        identity_id = action.identity_id
    return simulated_account_locked(identity_id)


def _save(account: SimulatedAccount, **fields) -> None:
    for name, value in fields.items():
        setattr(account, name, value)
    account.save(update_fields=[*fields, "updated_at"])


# --- actions ---------------------------------------------------------------------------------------


def _revoke_sessions(action, account):
    revoked = account.sessions.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    return (
        f"Revoked {revoked} active session(s) of {account.identity.upn}; every device must sign in again.",
        {"revoked_sessions": revoked},
        {},
    )


def _reset_password(action, account):
    _save(account, password_changed_at=timezone.now())
    return (f"Reset the password of {account.identity.upn}; a new one is required at next sign-in.", {}, {})


def _disable_account(action, account):
    was_enabled = account.enabled
    _save(account, enabled=False)
    detail = f"Blocked sign-in for {account.identity.upn}." if was_enabled else "The account was already disabled."
    return detail, {"was_enabled": was_enabled}, {"enabled": was_enabled}


def _remove_inbox_rule(action, account):
    mailbox = _mailbox(action)
    name = action.parameters.get("rule", action.target)
    rule = mailbox.inbox_rules.filter(name=name).first()
    if rule is None:
        return f"No inbox rule named {name!r} in {mailbox.identity.upn} any more: nothing to remove.", {}, {}
    snapshot = {
        "mailbox": mailbox.identity.upn,
        "name": rule.name,
        "enabled": rule.enabled,
        "parameters": rule.parameters,
        "created_at": rule.created_at.isoformat(),
    }
    rule.delete()
    return f"Removed inbox rule {name!r} from {mailbox.identity.upn}.", {"rule": snapshot}, {"rule": snapshot}


def _disable_mailbox_forwarding(action, account):
    mailbox = _mailbox(action)
    previous = {
        "forwarding_address": mailbox.forwarding_address,
        "deliver_to_mailbox_and_forward": mailbox.deliver_to_mailbox_and_forward,
    }
    if not mailbox.forwarding_address:
        return f"{mailbox.identity.upn} does not forward mail any more: nothing to disable.", {}, {}
    _save(mailbox, forwarding_address="", deliver_to_mailbox_and_forward=True)
    return (
        f"Stopped forwarding {mailbox.identity.upn}'s mail to {previous['forwarding_address']}.",
        previous,
        previous,
    )


def _remove_mailbox_permission(action, account):
    params = action.parameters
    mailbox = _mailbox(action)
    permissions = simulated_remaining(action, mailbox, since=timezone.now())
    removed = [
        {"delegate": p.delegate, "access_rights": p.access_rights, "folder": p.folder,
         "granted_at": p.granted_at.isoformat()}
        for p in permissions
    ]  # fmt: skip
    permissions.delete()
    if not removed:
        return f"{params.get('delegate')} has no such right on {mailbox.identity.upn} any more.", {}, {}
    names = ", ".join(sorted({p["access_rights"] + (f" on {p['folder']}" if p["folder"] else "") for p in removed}))
    detail = f"Removed {names} of {params.get('delegate')} on {mailbox.identity.upn}'s mailbox."
    return detail, {"removed": removed}, {"mailbox": mailbox.identity.upn, "permissions": removed}


def _restrict_sending(action, account):
    was = account.sending_restricted
    _save(account, sending_restricted=True)
    return f"{account.identity.upn} can no longer send mail.", {"was_restricted": was}, {"sending_restricted": was}


def _soft_delete_messages(action, account):
    ids = list(simulated_remaining(action, account, since=timezone.now()).values_list("pk", flat=True))
    SimulatedMessage.objects.filter(pk__in=ids).update(soft_deleted_at=timezone.now())
    mailboxes = SimulatedMessage.objects.filter(pk__in=ids).values("account").distinct().count()
    detail = f"Moved {len(ids)} message(s) to Recoverable Items in {mailboxes} mailbox(es)."
    return detail, {"messages": len(ids), "mailboxes": mailboxes}, {"message_ids": ids}


def _revoke_app_consent(action, account):
    consents = simulated_remaining(action, account, since=timezone.now())
    removed = [
        {"app_name": c.app_name, "client_id": c.client_id, "scopes": c.scopes, "granted_at": c.granted_at.isoformat()}
        for c in consents
    ]
    consents.delete()
    if not removed:
        return (
            f"{account.identity.upn} has no consent to {action.parameters.get('app') or action.target} any more.",
            {},
            {},
        )
    scopes = "; ".join(c["scopes"] for c in removed)
    detail = f"Consent of {account.identity.upn} to {removed[0]['app_name']} revoked ({scopes})."
    return detail, {"consents": len(removed)}, {"consents": removed}


def _remove_rows(action, account, what: str, then: str):
    """Remove what ``simulated_remaining`` finds (MFA methods, partnerships): no undo."""
    rows = simulated_remaining(action, account, since=timezone.now())
    names = [str(row) for row in rows]
    rows.delete()
    if not names:
        return f"No {what} of {account.identity.upn} match any more: nothing to remove.", {}, {}
    return (
        f"Removed {len(names)} {what} of {account.identity.upn} ({', '.join(names)}); {then}.",
        {"removed": names},
        {},
    )


# --- undo ------------------------------------------------------------------------------------------


def _state(action: Action) -> dict:
    return (action.undo_of.result or {}).get("undo_state") or {}


def _undo_disable_account(action, account):
    _save(account, enabled=_state(action).get("enabled", True))
    return f"Sign-in allowed again for {account.identity.upn}.", {}, {}


def _undo_remove_inbox_rule(action, account):
    snapshot = _state(action).get("rule")
    if not snapshot:
        return "There was no rule to restore.", {}, {}
    mailbox = _account(action, snapshot["mailbox"])
    SimulatedInboxRule.objects.get_or_create(
        account=mailbox,
        name=snapshot["name"],
        defaults={
            "enabled": snapshot["enabled"],
            "parameters": snapshot["parameters"],
            "created_at": snapshot["created_at"],
        },
    )
    return f"Restored inbox rule {snapshot['name']!r} in {mailbox.identity.upn}.", {}, {}


def _undo_disable_mailbox_forwarding(action, account):
    state = _state(action)
    if not state.get("forwarding_address"):
        return "There was no forwarding to restore.", {}, {}
    mailbox = _mailbox(action)
    _save(mailbox, **state)
    return f"Forwarding of {mailbox.identity.upn} to {state['forwarding_address']} restored.", {}, {}


def _undo_remove_mailbox_permission(action, account):
    state = _state(action)
    if not state.get("permissions"):
        return "There was no permission to restore.", {}, {}
    mailbox = _account(action, state["mailbox"])
    for permission in state["permissions"]:
        SimulatedMailboxPermission.objects.get_or_create(
            account=mailbox,
            delegate=permission["delegate"],
            access_rights=permission["access_rights"],
            folder=permission.get("folder", ""),
            defaults={"granted_at": permission["granted_at"]},
        )
    return f"Permissions on {mailbox.identity.upn}'s mailbox restored.", {}, {}


def _undo_restrict_sending(action, account):
    _save(account, sending_restricted=_state(action).get("sending_restricted", False))
    return f"{account.identity.upn} may send mail again.", {}, {}


def _undo_soft_delete_messages(action, account):
    ids = _state(action).get("message_ids", [])
    restored = SimulatedMessage.objects.filter(pk__in=ids).update(soft_deleted_at=None)
    return f"Restored {restored} message(s) from Recoverable Items.", {"messages": restored}, {}


def _undo_revoke_app_consent(action, account):
    consents = _state(action).get("consents") or []
    for consent in consents:
        SimulatedAppConsent.objects.get_or_create(
            account=account,
            app_name=consent["app_name"],
            defaults={
                "client_id": consent["client_id"],
                "scopes": consent["scopes"],
                "granted_at": consent["granted_at"],
            },
        )
    return f"Consent of {account.identity.upn} to {len(consents)} app(s) restored.", {}, {}


K = Action.Kind
_UNDO = {
    K.DISABLE_ACCOUNT: _undo_disable_account,
    K.REMOVE_INBOX_RULE: _undo_remove_inbox_rule,
    K.DISABLE_MAILBOX_FORWARDING: _undo_disable_mailbox_forwarding,
    K.REMOVE_MAILBOX_PERMISSION: _undo_remove_mailbox_permission,
    K.RESTRICT_SENDING: _undo_restrict_sending,
    K.SOFT_DELETE_MESSAGES: _undo_soft_delete_messages,
    K.REVOKE_APP_CONSENT: _undo_revoke_app_consent,
}

"""Keeping the simulated tenant in step with what ingestion saw.

``simulated_tenant_sync`` mirrors each identity's new events into its simulated account:
inbox rules created / changed / removed, mailbox forwarding, delegations granted, sign-in
sessions (one per IP and client) and the mail it sent (a copy in each internal recipient's
mailbox). Each account remembers the last event it mirrored, so a sync costs a few queries
per identity whatever the history, and running it twice changes nothing.

It runs before every simulated remediation (so the connector acts on current state), when a
playbook runs, and from ``loaddemo``. Remediation never re-reads events it already mirrored,
so a removed rule stays removed. App consents, MFA registrations and ActiveSync partnerships
(``Add-MobileDevice``) are mirrored too.

``simulated_remaining`` is the simulated tenant's read-back: the rows that show an action *not*
done. The connector acts on those rows and, after acting, reads them again; anything left fails
the action, as a read-back from Microsoft would.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Max, Min, Q, QuerySet

from airportal.errors import DomainError
from alerts.activity.fields import attr, attribute_list
from alerts.activity.mail import messages_of
from alerts.activity.rules import inbox_rule, mailbox_forwarding
from alerts.models import Event, Identity
from demo.models import (
    SimulatedAccount,
    SimulatedAppConsent,
    SimulatedAuthMethod,
    SimulatedFault,
    SimulatedInboxRule,
    SimulatedMailboxPermission,
    SimulatedMessage,
    SimulatedMobileDevice,
    SimulatedSession,
)
from investigations.connectors.reads import mailbox_and_folder
from investigations.models import Action
from m365 import times

K = Event.Kind
CONFIG_KINDS = (
    K.INBOX_RULE_CREATED,
    K.INBOX_RULE_CHANGED,
    K.INBOX_RULE_REMOVED,
    K.MAILBOX_FORWARDING_SET,
    K.MAILBOX_PERMISSION_ADDED,
    K.SEND_AS_PERMISSION_ADDED,
    K.PASSWORD_CHANGED,
    K.OAUTH_CONSENT,
    K.MFA_METHOD_CHANGED,
)
# Audit operations that add an ActiveSync partnership (Exchange's cmdlet, lower-cased).
DEVICE_OPERATIONS = ("add-mobiledevice",)


def simulated_accounts_ensure(identity_ids: Iterable[int]) -> dict[int, SimulatedAccount]:
    """The simulated accounts of these identities, created when missing (two queries)."""
    identity_ids = set(identity_ids)
    SimulatedAccount.objects.bulk_create(
        [SimulatedAccount(identity_id=pk) for pk in identity_ids], ignore_conflicts=True
    )
    return {account.identity_id: account for account in SimulatedAccount.objects.filter(identity_id__in=identity_ids)}


def simulated_account_locked(identity_id: int) -> SimulatedAccount:
    """The identity's simulated account, row-locked (created first if missing). Call inside atomic.

    Only the account row is locked, and in the weakest mode that keeps its writers apart (``FOR NO
    KEY UPDATE``): locking the joined identity too would block ingest, which locks identities, and
    rows referring to the account (sessions, messages) could not be inserted meanwhile.
    """
    locked = SimulatedAccount.objects.select_for_update(of=("self",), no_key=True).select_related("identity")
    account = locked.filter(identity_id=identity_id).first()
    if account is None:
        simulated_accounts_ensure([identity_id])
        account = locked.get(identity_id=identity_id)
    return account


def simulated_tenant_sync(*, identity_ids: Iterable[int] | None = None) -> int:
    """Mirror the new events of these identities (all when None); the number of events applied."""
    if identity_ids is None:
        identity_ids = Identity.objects.values_list("pk", flat=True)
    applied = 0
    for identity_id in sorted(set(identity_ids)):
        applied += _sync_identity(identity_id)
    return applied


@transaction.atomic
def _sync_identity(identity_id: int) -> int:
    account = simulated_account_locked(identity_id)
    # Remediation events are our own doing, not the tenant's history: never mirrored.
    new = Event.objects.filter(identity_id=identity_id, id__gt=account.synced_event_id).exclude(kind=K.REMEDIATION)
    last_id = new.aggregate(last=Max("id"))["last"]
    if last_id is None:
        return 0
    new = new.filter(id__lte=last_id)
    applied = _sync_sessions(account, new.filter(kind=K.SIGNIN).exclude(succeeded=False))
    config = new.filter(Q(kind__in=CONFIG_KINDS) | Q(kind=K.OTHER, operation__iregex=_DEVICE_REGEX))
    for event in config.order_by("occurred_at", "id"):
        _apply_config(account, event)
        applied += 1
    applied += _sync_messages(account, list(new.filter(kind=K.MAIL_SENT).order_by("occurred_at", "id")))
    account.synced_event_id = last_id
    account.save()
    return applied


def _sync_sessions(account: SimulatedAccount, signins) -> int:
    """One session per (IP, client): new ones created, known ones' last sign-in moved on (4 queries)."""
    rows = signins.values("ip", "app").annotate(first=Min("occurred_at"), last=Max("occurred_at")).order_by()
    active = {(s.ip, s.app): s for s in account.sessions.filter(revoked_at__isnull=True)}
    new, seen_again = [], []
    for row in rows:
        session = active.get((row["ip"], row["app"]))
        if session is None:
            new.append(
                SimulatedSession(
                    account=account, ip=row["ip"], app=row["app"], started_at=row["first"], last_seen_at=row["last"]
                )
            )
        elif row["last"] > session.last_seen_at:
            session.last_seen_at = row["last"]
            seen_again.append(session)
    SimulatedSession.objects.bulk_create(new)
    SimulatedSession.objects.bulk_update(seen_again, ["last_seen_at"])
    return len(new) + len(seen_again)


def _apply_config(account: SimulatedAccount, event: Event) -> None:
    if event.kind in (K.INBOX_RULE_CREATED, K.INBOX_RULE_CHANGED):
        name = inbox_rule(event).name
        if name:
            SimulatedInboxRule.objects.update_or_create(
                account=account,
                name=name[:256],
                defaults={
                    "parameters": attr(event, "rule") or {},
                    "enabled": True,
                    "created_at": event.occurred_at,
                    "source_event": event,
                },
            )
    elif event.kind == K.INBOX_RULE_REMOVED:
        account.inbox_rules.filter(name=inbox_rule(event).name).delete()
    elif event.kind == K.MAILBOX_FORWARDING_SET:
        addresses = mailbox_forwarding(event)
        account.forwarding_address = addresses[0] if addresses else ""
        keep_copy = attr(event, "deliver_to_mailbox_and_forward")
        account.deliver_to_mailbox_and_forward = keep_copy is not False
    elif event.kind in (K.MAILBOX_PERMISSION_ADDED, K.SEND_AS_PERMISSION_ADDED):
        folder = mailbox_and_folder(str(attr(event, "mailbox") or ""))[1]
        delegate = str(attr(event, "delegate") or "").lower()
        rights = attr(event, "access_rights") or [
            "SendAs" if event.kind == K.SEND_AS_PERMISSION_ADDED else "FullAccess"
        ]
        for right in rights if isinstance(rights, list) else [rights]:
            if delegate:
                SimulatedMailboxPermission.objects.get_or_create(
                    account=account,
                    delegate=delegate[:320],
                    access_rights=str(right)[:64],
                    folder=folder[:256],
                    defaults={"granted_at": event.occurred_at},
                )
    elif event.kind == K.PASSWORD_CHANGED:
        account.password_changed_at = event.occurred_at
    elif event.kind == K.OAUTH_CONSENT:
        SimulatedAppConsent.objects.update_or_create(
            account=account,
            app_name=str(attr(event, "app_display_name") or event.target or "an application")[:256],
            defaults={
                "client_id": str(attr(event, "client_id") or "")[:64],
                "scopes": " ".join(attribute_list(attr(event, "scopes")))[:1024],
                "granted_at": event.occurred_at,
                "source_event": event,
            },
        )
    elif event.kind == K.MFA_METHOD_CHANGED and not _removes_a_method(event):
        SimulatedAuthMethod.objects.get_or_create(
            account=account,
            source_event=event,
            defaults={
                "method_type": str(attr(event, "method_type") or "microsoftAuthenticator")[:64],
                "name": str(attr(event, "detail") or event.operation)[:256],
                "registered_at": event.occurred_at,
            },
        )
    elif event.kind == K.OTHER:  # an ActiveSync partnership (DEVICE_OPERATIONS)
        SimulatedMobileDevice.objects.get_or_create(
            account=account,
            device_id=str(attr(event, "device_id", "DeviceId") or event.target or event.pk)[:128],
            defaults={
                "model": str(attr(event, "device_model", "DeviceModel") or "")[:128],
                "first_sync_at": event.occurred_at,
                "source_event": event,
            },
        )


_DEVICE_REGEX = "^(" + "|".join(DEVICE_OPERATIONS) + ")$"


def _removes_a_method(event: Event) -> bool:
    return "delete" in event.operation.lower() or bool(attr(event, "methods_removed"))


def _sync_messages(account: SimulatedAccount, mail_events: list[Event]) -> int:
    """A copy of each sent message in the mailbox of every internal recipient (an identity)."""
    messages = messages_of(mail_events)
    wanted = {address for message in messages for address in message.recipients}
    if not wanted:
        return 0
    identities = dict(Identity.objects.filter(upn__in=wanted).values_list("upn", "pk"))
    accounts = simulated_accounts_ensure(identities.values())
    rows = []
    for message in messages:
        for address in message.recipients:
            if address in identities:
                rows.append(
                    SimulatedMessage(
                        account=accounts[identities[address]],
                        sender=account.identity.upn,
                        subject=message.subject[:512],
                        internet_message_id=message.key.removeprefix("id:")[:512],
                        received_at=message.at,
                        source_event=message.events[0],
                    )
                )
    SimulatedMessage.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# --- the read-back ---------------------------------------------------------------------------------


def simulated_remaining(action: Action, mailbox: SimulatedAccount, *, since: datetime) -> QuerySet:
    """The rows of ``mailbox`` that show ``action`` not done (yet): what it acts on, and what must be
    gone once it has. ``since``: when the action started acting (a password changed before is old)."""
    params, kind, K_ = action.parameters, action.kind, Action.Kind
    accounts = SimulatedAccount.objects.filter(pk=mailbox.pk)
    if kind == K_.REVOKE_SESSIONS:
        return mailbox.sessions.filter(revoked_at__isnull=True)
    if kind == K_.RESET_PASSWORD:
        return accounts.filter(Q(password_changed_at__isnull=True) | Q(password_changed_at__lt=since))
    if kind == K_.DISABLE_ACCOUNT:
        return accounts.filter(enabled=True)
    if kind == K_.RESTRICT_SENDING:
        return accounts.filter(sending_restricted=False)
    if kind == K_.DISABLE_MAILBOX_FORWARDING:
        return accounts.exclude(forwarding_address="")
    if kind == K_.REMOVE_INBOX_RULE:
        return mailbox.inbox_rules.filter(name=params.get("rule", action.target))
    if kind == K_.REMOVE_MAILBOX_PERMISSION:
        permissions = mailbox.permissions.filter(delegate=str(params.get("delegate", "")).lower())
        if params.get("access_rights"):
            permissions = permissions.filter(access_rights__in=params["access_rights"])
        folder = params.get("folder") or mailbox_and_folder(str(params.get("mailbox") or ""))[1]
        if folder:
            permissions = permissions.filter(folder__iexact=folder)
        return permissions
    if kind == K_.SOFT_DELETE_MESSAGES:
        messages = SimulatedMessage.objects.filter(
            sender=params.get("sender", mailbox.identity.upn), soft_deleted_at=None
        )
        if params.get("internet_message_ids"):
            return messages.filter(internet_message_id__in=params["internet_message_ids"])
        return messages.filter(subject=params.get("subject", ""))
    if kind == K_.REVOKE_APP_CONSENT:
        wanted = Q(app_name=params.get("app") or action.target)
        if params.get("client_id"):
            wanted |= Q(client_id=params["client_id"])
        return mailbox.app_consents.filter(wanted)
    if kind == K_.REMOVE_MFA_METHOD:
        return _in_window(mailbox.auth_methods, "registered_at", params, "method_id", "pk", "registered")
    if kind == K_.REMOVE_MOBILE_DEVICE:
        return _in_window(mailbox.mobile_devices, "first_sync_at", params, "device_id", "device_id", "first_synced")
    raise ValueError(f"No read-back for {kind!r}.")


def _in_window(rows: QuerySet, at: str, params: dict, id_parameter: str, id_field: str, prefix: str) -> QuerySet:
    """Rows named by id, or registered within ``{prefix}_after`` … ``{prefix}_before`` (of ``method_type``)."""
    if params.get(id_parameter):
        return rows.filter(**{id_field: params[id_parameter]})
    after, before = params.get(f"{prefix}_after"), params.get(f"{prefix}_before")
    if not after:
        return rows.none()
    rows = rows.filter(**{f"{at}__gte": times.parse(after)})
    if before:
        rows = rows.filter(**{f"{at}__lte": times.parse(before)})
    if params.get("method_type"):
        rows = rows.filter(method_type__istartswith=params["method_type"])
    return rows


# --- rehearsing failures ---------------------------------------------------------------------------


def simulated_fault_add(
    *,
    mode: str,
    kind: str = "",
    remaining: int = 1,
    retry_after: float | None = None,
    delay_seconds: float = 0.0,
    message: str = "",
) -> SimulatedFault:
    """Make the next ``remaining`` simulated calls (of ``kind``, or any) answer with a fault."""
    if mode not in SimulatedFault.Mode.values:
        raise DomainError(f"Unknown fault mode {mode!r}; choose one of {', '.join(SimulatedFault.Mode.values)}.")
    if kind and kind not in Action.Kind.values:
        raise DomainError(f"Unknown action kind {kind!r}; choose one of {', '.join(Action.Kind.values)}.")
    if remaining < 1 or (retry_after is not None and retry_after < 0) or delay_seconds < 0:
        raise DomainError("Times must be at least 1; Retry-After and delay cannot be negative.")
    return SimulatedFault.objects.create(
        mode=mode,
        kind=kind,
        remaining=remaining,
        retry_after=retry_after,
        delay_seconds=delay_seconds,
        message=message[:300],
    )


def simulated_faults_clear() -> int:
    return SimulatedFault.objects.all().delete()[0]

"""The ``msgraph`` connector: remediation on the real tenant, through Microsoft Graph and Exchange Online.

Every method is idempotent without server-side idempotency keys, because each change is a
state to reach rather than a step to repeat: PATCH a property, revoke (again), delete by identity,
create a rule with a fixed name. Each reads the changed state back (``investigations.connectors.reads``,
the same reads as ``read_state``) and succeeds only when it shows the change; something already
gone is success (``already_done``) only when a complete read confirms it (inbox rules are read with
``-IncludeHidden``). Throttling (429) and server errors (5xx) raise ``TransientError`` with the
service's Retry-After; a refusal (401/403) raises ``PermanentError`` naming the application
permission to grant.

The work is split by service: ``exchange`` (mailbox settings), ``entra`` (consents, MFA methods),
``mail`` (soft-delete); this module holds the account actions and wires the rest to action kinds.
"""

import functools
import secrets
import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.utils import timezone

from investigations.connectors import entra, exchange, mail, reads
from investigations.connectors.base import (
    Connector,
    ConnectorResult,
    PermanentError,
    TransientError,
    VerificationFailed,
)
from investigations.connectors.state import LiveState, StateItem, StateKind
from investigations.models import Action
from m365 import permissions, times
from m365.client import (
    AccessDenied,
    AuthenticationFailed,
    M365Client,
    M365Error,
    NotFound,
    Throttled,
    Unavailable,
)
from m365.config import ConfigError, config_get

PERMISSIONS = {kind: permissions.for_action(kind) for kind in Action.Kind.values}
# How far Microsoft's clock may trail ours when a timestamp read back must be "after we asked".
CLOCK_SKEW = timedelta(seconds=30)


@contextmanager
def _translated(kind: str) -> Iterator[None]:
    """Client errors as the connector interface's errors."""
    try:
        yield
    except (Throttled, Unavailable) as exc:
        raise TransientError(exc.message, retry_after=exc.retry_after) from None
    except AccessDenied as exc:  # the client's message names the permission the call needed
        raise PermanentError(f"{exc.message} `manage.py m365 check` lists every missing permission.") from None
    except (AuthenticationFailed, M365Error) as exc:
        raise PermanentError(exc.message) from None


def random_password(length: int = 24) -> str:
    """A password meeting Entra's complexity rules; it is sent once and never stored or logged."""
    alphabet = string.ascii_letters + string.digits + "!#$%&*+-=?@^_"
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in password)
            and any(c.isupper() for c in password)
            and any(c.isdigit() for c in password)
            and any(not c.isalnum() for c in password)
        ):
            return password


def _moment(value) -> datetime | None:
    """An action parameter holding a time (ISO 8601), or None."""
    return times.parse(value) if value else None


class MsGraphConnector(Connector):
    name = "msgraph"

    def __init__(self, client: M365Client | None = None):
        self._client = client

    @property
    def client(self) -> M365Client:
        if self._client is None:
            try:
                config = config_get()
            except ConfigError as exc:
                raise PermanentError(str(exc)) from None
            if config is None:
                raise PermanentError("No Microsoft 365 tenant is configured for the msgraph connector.")
            self._client = M365Client(config)
        return self._client

    # --- helpers -------------------------------------------------------------------------------

    def _graph(self, method: str, path: str, *, kind: str, **kwargs):
        return self.client.graph(method, path, permission=PERMISSIONS[kind], **kwargs)

    @staticmethod
    def _user(action) -> str:
        """The Graph key of the action's user: the Entra object id when known, else the UPN (unquoted)."""
        return action.identity.external_id or action.identity.upn

    def run(self, action) -> ConnectorResult:
        with _translated(action.kind):
            return super().run(action)

    def undo(self, action) -> ConnectorResult:
        """Reverse ``action.undo_of`` from the state its run recorded (``action`` is the undo action)."""
        handler = getattr(self, f"undo_{action.kind}", None)
        if handler is None:
            return super().undo(action)
        with _translated(action.kind):
            return handler(action, (action.undo_of.result or {}).get("undo_state") or {})

    @property
    def exchange(self) -> exchange.ExchangeAdmin:
        return exchange.ExchangeAdmin(self.client)

    def _keep(self, action) -> Callable[[dict], dict]:
        return functools.partial(self.keep_undo_state, action)

    @staticmethod
    def _mailbox(action) -> str:
        return action.parameters.get("mailbox") or action.identity.upn

    # --- the read side -----------------------------------------------------------------------------

    def read_state(self, upn: str) -> LiveState:
        state = LiveState(upn=upn, source=self.name, read_at=timezone.now())
        exo = self.exchange
        mailbox_row = functools.cache(lambda: reads.mailbox_row(exo, upn))
        parts: list[tuple[str, Callable[[], list[StateItem]]]] = [
            (StateKind.INBOX_RULE, lambda: reads.inbox_rules(exo, upn, mark_hidden=True)),
            (StateKind.FORWARDING, lambda: reads.forwarding(mailbox_row())),
            (StateKind.SEND_ON_BEHALF, lambda: reads.send_on_behalf(mailbox_row())),
            (StateKind.MAILBOX_PERMISSION, lambda: reads.mailbox_permissions(exo, upn)),
            (StateKind.SEND_AS, lambda: reads.send_as(exo, upn)),
            (StateKind.FOLDER_PERMISSION, lambda: reads.folder_permissions(exo, upn)),
            (StateKind.MOBILE_DEVICE, lambda: reads.mobile_devices(exo, upn)),
            (StateKind.OAUTH_GRANT, lambda: reads.oauth_grants(self.client, upn)),
            (StateKind.APP_ROLE_ASSIGNMENT, lambda: reads.app_role_assignments(self.client, upn)),
            (StateKind.AUTH_METHOD, lambda: reads.auth_methods(self.client, upn)),
            (StateKind.REGISTERED_DEVICE, lambda: reads.registered_devices(self.client, upn)),
        ]
        for kind, read in parts:
            try:
                state.items += read()
            except M365Error as exc:  # unread, never reported as empty
                state.unread[kind] = exc.message
        try:
            state.account = reads.account(self.client, upn)
        except M365Error as exc:
            state.unread["account"] = exc.message
        return state

    # --- Entra ID account ------------------------------------------------------------------------

    def _account(self, action):
        return reads.account(self.client, self._user(action))

    def _gone(self, action) -> ConnectorResult:
        return ConnectorResult(
            detail=f"{action.identity.upn} no longer exists in Entra ID.",
            already_done=True,
            read_back={"user": "not found"},
        )

    def revoke_sessions(self, action) -> ConnectorResult:
        asked = timezone.now()
        try:
            self._graph("POST", f"{reads.user_path(self._user(action))}/revokeSignInSessions", kind=action.kind)
            after = self._account(action)
        except NotFound:
            return self._gone(action)
        seen = {
            "signInSessionsValidFromDateTime": times.iso_z(after.sessions_revoked_at)
            if after.sessions_revoked_at
            else None
        }
        if after.sessions_revoked_at is None or after.sessions_revoked_at < asked - CLOCK_SKEW:
            raise VerificationFailed(
                f"Graph accepted the revocation, but the sessions of {action.identity.upn} are still valid from "
                "before it (signInSessionsValidFromDateTime did not move).",
                seen,
            )
        return ConnectorResult(
            detail=f"Refresh tokens and session cookies of {action.identity.upn} revoked; apps must sign in again.",
            read_back=seen,
        )

    def disable_account(self, action) -> ConnectorResult:
        user = reads.user_path(self._user(action))
        try:
            current = self._account(action)
        except NotFound:
            return self._gone(action)
        undo_state = self.keep_undo_state(action, {"accountEnabled": current.enabled is not False})
        if current.enabled is not False:
            self._graph("PATCH", user, kind=action.kind, json={"accountEnabled": False})
        after = self._account(action)
        if after.enabled is not False:
            raise VerificationFailed(f"Graph accepted the change, but {action.identity.upn} can still sign in.",
                                     {"accountEnabled": after.enabled})  # fmt: skip
        return ConnectorResult(
            detail=f"Sign-in blocked for {action.identity.upn}."
            if current.enabled is not False
            else f"{action.identity.upn} was already disabled.",
            already_done=current.enabled is False,
            undo_state=undo_state,
            read_back={"accountEnabled": False},
        )

    def undo_disable_account(self, action, state: dict) -> ConnectorResult:
        enabled = state.get("accountEnabled", True)
        self._graph("PATCH", reads.user_path(self._user(action)), kind=action.kind, json={"accountEnabled": enabled})
        after = self._account(action)
        if after.enabled is not enabled:
            raise VerificationFailed(f"Graph accepted the change, but accountEnabled of {action.identity.upn} is "
                                     f"{after.enabled}.", {"accountEnabled": after.enabled})  # fmt: skip
        return ConnectorResult(
            detail=f"Sign-in of {action.identity.upn} {'allowed' if enabled else 'left blocked'}.",
            read_back={"accountEnabled": after.enabled},
        )

    def reset_password(self, action) -> ConnectorResult:
        profile = {"forceChangePasswordNextSignIn": True, "password": random_password()}
        asked = timezone.now()
        try:
            self._graph(
                "PATCH", reads.user_path(self._user(action)), kind=action.kind, json={"passwordProfile": profile}
            )
            after = self._account(action)
        except NotFound:
            return self._gone(action)
        changed = after.last_password_change
        seen = {"lastPasswordChangeDateTime": times.iso_z(changed) if changed else None}
        if changed is None or changed < asked - CLOCK_SKEW:
            raise VerificationFailed(
                f"Graph accepted the reset, but the password of {action.identity.upn} did not change.", seen
            )
        return ConnectorResult(
            detail=f"Password of {action.identity.upn} replaced by a random one (not kept); "
            "the user must set a new one through self-service reset or the helpdesk.",
            read_back=seen,
        )

    def revoke_app_consent(self, action) -> ConnectorResult:
        params = action.parameters
        return entra.consent_revoke(
            self.client,
            self._user(action),
            client_id=str(params.get("client_id") or ""),
            app_name=str(params.get("app") or action.target),
            keep=self._keep(action),
        )

    def undo_revoke_app_consent(self, action, state: dict) -> ConnectorResult:
        return entra.consent_restore(self.client, state)

    def remove_mfa_method(self, action) -> ConnectorResult:
        params = action.parameters
        return entra.mfa_method_remove(
            self.client,
            self._user(action),
            method_id=str(params.get("method_id") or ""),
            method_type=str(params.get("method_type") or ""),
            since=_moment(params.get("registered_after")),
            until=_moment(params.get("registered_before")),
        )

    # --- mail ------------------------------------------------------------------------------------

    def soft_delete_messages(self, action) -> ConnectorResult:
        """Move each message to Recoverable Items (Deletions) in every recipient's mailbox: gone from
        the user's view, still recoverable by an admin, and brought back by undo."""
        params = action.parameters
        mailboxes = mail.Mailboxes(
            self.client,
            message_ids=params.get("internet_message_ids") or [],
            subject=params.get("subject", ""),
            sender=params.get("sender") or action.identity.upn,
        )
        return mail.soft_delete(mailboxes, mailboxes.recipients(params.get("recipients")), keep=self._keep(action))

    def undo_soft_delete_messages(self, action, state: dict) -> ConnectorResult:
        return mail.restore(self.client, state)

    # --- Exchange Online -------------------------------------------------------------------------

    def remove_inbox_rule(self, action) -> ConnectorResult:
        params = action.parameters
        return exchange.inbox_rule_remove(
            self.exchange,
            self._mailbox(action),
            identity=str(params.get("rule_id") or ""),
            name=str(params.get("rule") or action.target),
            settings=params.get("rule_settings") or None,
            keep=self._keep(action),
        )

    def undo_remove_inbox_rule(self, action, state: dict) -> ConnectorResult:
        return exchange.inbox_rule_restore(self.exchange, state)

    def disable_mailbox_forwarding(self, action) -> ConnectorResult:
        return exchange.forwarding_disable(self.exchange, self._mailbox(action), keep=self._keep(action))

    def undo_disable_mailbox_forwarding(self, action, state: dict) -> ConnectorResult:
        return exchange.forwarding_restore(self.exchange, self._mailbox(action), state)

    def remove_mailbox_permission(self, action) -> ConnectorResult:
        params = action.parameters
        rights = params.get("access_rights") or None  # none given: every right the delegate holds
        if isinstance(rights, str):
            rights = [rights]
        mailbox, folder = reads.mailbox_and_folder(self._mailbox(action))  # a folder grant names "mailbox:\\folder"
        return exchange.permission_remove(
            self.exchange,
            mailbox,
            params.get("delegate") or action.target,
            rights,
            folder=params.get("folder") or folder or None,
            keep=self._keep(action),
        )

    def undo_remove_mailbox_permission(self, action, state: dict) -> ConnectorResult:
        return exchange.permission_restore(self.exchange, state)

    def restrict_sending(self, action) -> ConnectorResult:
        comment = f"Created by AIR Portal for investigation #{action.investigation_id}, action #{action.pk}."
        return exchange.sending_block(self.exchange, action.identity.upn, comment=comment)

    def undo_restrict_sending(self, action, state: dict) -> ConnectorResult:
        return exchange.sending_unblock(self.exchange, state)

    def remove_mobile_device(self, action) -> ConnectorResult:
        params = action.parameters
        return exchange.mobile_device_remove(
            self.exchange,
            self._mailbox(action),
            device_id=str(params.get("device_id") or ""),
            since=_moment(params.get("first_synced_after")),
            until=_moment(params.get("first_synced_before")),
        )

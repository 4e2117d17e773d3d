"""Consent to applications with mail permissions: an app reading or sending mail keeps working
after the password is reset, so the finding proposes ``revoke_app_consent`` for each such app.

Consents in the window and the delegated grants the live read finds are judged alike; a grant
without a consent record in the window is a finding too."""

from datetime import timedelta

from alerts.activity.fields import attribute_list
from alerts.models import Event
from investigations.connectors.state import StateKind
from investigations.models import Action, Finding
from investigations.playbooks.context import CheckResult, EventRow, PlaybookContext, check
from investigations.playbooks.proposal import Proposal
from investigations.playbooks.text import quote, stamp, when

V = Finding.Verdict
SOON = timedelta(hours=24)
MAIL_SCOPES = {
    "mail.read",
    "mail.readbasic",
    "mail.readwrite",
    "mail.send",
    "mail.read.shared",
    "mail.readwrite.shared",
    "mail.send.shared",
    "mailboxsettings.read",
    "mailboxsettings.readwrite",
    "ews.accessasuser.all",
    "imap.accessasuser.all",
    "pop.accessasuser.all",
    "smtp.send",
    "full_access_as_user",
    "full_access_as_app",
}


def _scopes(event: EventRow) -> list[str]:
    value = event.fact("scopes", "permissions", "scope") or []
    scopes = []
    for item in attribute_list(value):
        scopes.extend(item.split())
    return scopes


def _judge(ctx: PlaybookContext, event: EventRow, scopes: list[str]) -> str:
    """Malicious right after a risky sign-in, or when the app keeps reading or sending mail with a
    refresh token (it keeps the mailbox after a password reset); suspicious otherwise."""
    after_risk = _after_risk(ctx, event)
    persistent = any(s.lower() == "offline_access" for s in _scopes(event)) and any(
        s.lower().startswith(("mail.read", "mail.send", "full_access")) for s in scopes
    )
    return V.MALICIOUS if after_risk or persistent else V.SUSPICIOUS


def _after_risk(ctx: PlaybookContext, event: EventRow) -> bool:
    at = event.occurred_at
    return at is not None and any(s.occurred_at <= at <= s.occurred_at + SOON for s in ctx.risky_signins)


def _app(event: EventRow) -> str:
    return str(event.fact("app_display_name", "app_name") or event.target or event.app or "an application")


@check("consents", "Consent to apps with mail permissions")
def app_consents(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    consents = ctx.of_kind(Event.Kind.OAUTH_CONSENT)
    mail = [(e, [s for s in _scopes(e) if s.lower() in MAIL_SCOPES]) for e in consents]
    mail = [(e, scopes, "log") for e, scopes in mail if scopes]
    consented = {_app(e).lower() for e, _, _ in mail}
    # Grants that exist now without a consent record in the window, judged by the same rules.
    for item, row in ctx.live_records(StateKind.OAUTH_GRANT):
        scopes = [s for s in _scopes(row) if s.lower() in MAIL_SCOPES]
        known = _app(row).lower() in consented
        if scopes and not known:
            mail.append((row, scopes, "live"))
        verdict = _judge(ctx, row, scopes) if scopes else V.CLEAN
        origin = "both" if known else "live"
        ctx.note_item(
            kind=item.kind, key=item.key, name=item.name, origin=origin, verdict=verdict, created_at=item.created_at
        )
    not_read = (
        ""
        if ctx.live.read(StateKind.OAUTH_GRANT)
        else " " + ctx.live.not_read_sentence("app consents", StateKind.OAUTH_GRANT)
    )
    if not mail:
        result.explanation = (
            f"{len(consents)} app consent(s) in the window, none with mail permissions."
            if consents
            else "No app was granted consent in the window."
        ) + not_read
        return result
    judged = [(e, scopes, origin, _judge(ctx, e, scopes)) for e, scopes, origin in mail]
    event, scopes, origin, _ = judged[0]
    app = _app(event)
    result.verdict = V.MALICIOUS if any(j[3] == V.MALICIOUS for j in judged) else V.SUSPICIOUS
    result.weight = 40
    result.events = [e for e, _, origin, _ in judged if origin == "log"]
    result.headline = f"consented to {quote(app, 40)} reading its mail ({', '.join(scopes[:3])})"
    if origin == "live":
        opening = (
            f"{quote(app, 60)} holds {', '.join(scopes)} on this mailbox now; no consent record since "
            f"{stamp(ctx.window_start)}."
        )
    else:
        opening = f"Consent to {quote(app, 60)} with {', '.join(scopes)} {when(event.occurred_at)}" + (
            ", after a risky sign-in." if _after_risk(ctx, event) else "."
        )
    result.explanation = (
        opening + " Such an app keeps access to the mailbox after a password reset: revoke its consent." + not_read
    )
    result.data = {"apps": sorted({_app(e) for e, _, _, _ in judged}), "scopes": scopes}
    for consent, app_scopes, origin, _ in judged:
        name = _app(consent)
        granted = when(consent.occurred_at) if origin == "log" else "(found by the live read)"
        result.proposals.append(
            Proposal(
                kind=Action.Kind.REVOKE_APP_CONSENT,
                target=name,
                reason=f"{quote(name, 60)} was granted {', '.join(app_scopes)} {granted}.",
                parameters={"app": name, "client_id": str(consent.fact("client_id", "clientId") or "")},
            )
        )
    return result


CHECKS = [app_consents]

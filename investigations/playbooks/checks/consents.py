"""Consent to applications with mail permissions: an app reading or sending mail keeps working
after the password is reset, so the finding proposes ``revoke_app_consent`` for each such app."""

from datetime import timedelta

from alerts.activity.fields import attribute_list
from alerts.models import Event
from investigations.models import Action, Finding
from investigations.playbooks.context import CheckResult, EventRow, PlaybookContext, check
from investigations.playbooks.proposal import Proposal
from investigations.playbooks.text import quote, when

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


@check("consents", "Consent to apps with mail permissions")
def app_consents(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    consents = ctx.of_kind(Event.Kind.OAUTH_CONSENT)
    mail = [(e, [s for s in _scopes(e) if s.lower() in MAIL_SCOPES]) for e in consents]
    mail = [(e, scopes) for e, scopes in mail if scopes]
    if not mail:
        result.explanation = (
            f"{len(consents)} app consent(s) in the window, none with mail permissions."
            if consents
            else "No app was granted consent in the window."
        )
        return result
    event, scopes = mail[0]
    app = str(event.fact("app_display_name", "app_name") or event.target or event.app or "an application")
    after_risk = any(s.occurred_at <= event.occurred_at <= s.occurred_at + SOON for s in ctx.risky_signins)
    # Reading or sending mail with a refresh token: the app keeps the mailbox after a password reset.
    persistent = any(s.lower() == "offline_access" for s in _scopes(event)) and any(
        s.lower().startswith(("mail.read", "mail.send", "full_access")) for s in scopes
    )
    result.verdict = V.MALICIOUS if after_risk or persistent else V.SUSPICIOUS
    result.weight = 40
    result.events = [e for e, _ in mail]
    result.headline = f"consented to {quote(app, 40)} reading its mail ({', '.join(scopes[:3])})"
    result.explanation = (
        f"Consent to {quote(app, 60)} with {', '.join(scopes)} {when(event.occurred_at)}"
        + (", after a risky sign-in." if after_risk else ".")
        + " Such an app keeps access to the mailbox after a password reset; review it in Entra ID."
    )
    result.data = {"apps": sorted({str(e.fact("app_display_name") or e.target) for e, _ in mail}), "scopes": scopes}
    for consent, app_scopes in mail:
        name = str(consent.fact("app_display_name", "app_name") or consent.target or "an application")
        result.proposals.append(
            Proposal(
                kind=Action.Kind.REVOKE_APP_CONSENT,
                target=name,
                reason=f"{quote(name, 60)} was granted {', '.join(app_scopes)} {when(consent.occurred_at)}.",
                parameters={"app": name, "client_id": str(consent.fact("client_id") or "")},
            )
        )
    return result


CHECKS = [app_consents]

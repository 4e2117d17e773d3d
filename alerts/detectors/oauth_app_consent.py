"""OAuth app consent with mail permissions.

Consent phishing gives an attacker's app lasting access to a mailbox without the password:
a user consents to an app asking for Mail.Read, Mail.Send or full mailbox access. Apps the
tenant trusts can be listed by id or name.
"""

from datetime import timedelta

from alerts.activity.fields import attr, attribute_list, truthy
from alerts.detectors.base import Detection, Detector, quote
from alerts.detectors.params import Param, ParamSchema
from alerts.models import Event, Severity

MAIL_SCOPES = [
    "Mail.Read",
    "Mail.ReadBasic",
    "Mail.ReadWrite",
    "Mail.Send",
    "Mail.Read.Shared",
    "Mail.ReadWrite.Shared",
    "Mail.Send.Shared",
    "MailboxSettings.ReadWrite",
    "EWS.AccessAsUser.All",
    "IMAP.AccessAsUser.All",
    "POP.AccessAsUser.All",
    "SMTP.Send",
    "full_access_as_user",
    "full_access_as_app",
    "Exchange.ManageAsApp",
]


def consent_scopes(event: Event) -> list[str]:
    """Scopes from a list or from Entra's space-separated ``Scope:`` text."""
    scopes: list[str] = []
    for item in attribute_list(attr(event, "scopes")):
        scopes.extend(part for part in item.replace(",", " ").split() if part)
    return list(dict.fromkeys(scopes))


class OauthAppConsent(Detector):
    key = "oauth_app_consent"
    name = "OAuth app consent with mail permissions"
    description = "A user (or an admin) consented to an application asking for mail permissions."
    severity = Severity.HIGH
    schema = ParamSchema(
        (
            Param("mail_scopes", "list", MAIL_SCOPES, "Mail permissions", "Consent to any of these alerts."),
            Param("trusted_apps", "list", [], "Trusted apps", "Application ids or names never reported."),
            Param("include_admin_consent", "bool", True, "Admin consent too", "Also report tenant-wide consent."),
        )
    )
    trigger_kinds = frozenset({Event.Kind.OAUTH_CONSENT})

    def context_span(self, params):
        return timedelta(0)

    def detect(self, ctx, identity_id, triggers, params):
        wanted = {scope.lower(): scope for scope in params["mail_scopes"]}
        trusted = {app.lower() for app in params["trusted_apps"]}
        reasons: dict[str, str] = {}
        consents: list[dict] = []
        events: list[Event] = []
        for event in triggers:
            app_id = str(attr(event, "client_id", default=""))
            app_name = str(attr(event, "app_display_name", default="") or event.target)
            admin = truthy(attr(event, "is_admin_consent"))
            if {app_id.lower(), app_name.lower()} & trusted or (admin and not params["include_admin_consent"]):
                continue
            mail = [scope for scope in consent_scopes(event) if scope.lower() in wanted]
            if not mail:
                continue
            consents.append({"app_id": app_id, "app_name": app_name, "mail_scopes": mail, "admin_consent": admin})
            events.append(event)
            who = "An admin consented for the whole tenant" if admin else "The user consented"
            reasons[f"consent:{app_id or app_name}"] = (
                f"{who} to the app {quote(app_name or app_id or 'unknown')}, which asked for {', '.join(mail)}."
            )
        if not reasons:
            return []
        return [
            Detection(
                identity_id=identity_id,
                title="Consent to an app with mail permissions",
                reasons=reasons,
                events=events,
                evidence={"consents": consents},
            )
        ]

"""``graph-alerts``: Microsoft Graph security ``alert`` (v2, ``/security/alerts_v2``).

Every alert becomes one ``external_alert`` per account its evidence names (user, mailbox and
mailbox configuration evidence; failing those, the recipients of analysed messages and the users
logged on to devices). An alert that names no account (a device with nobody logged on, an app)
becomes one ``external_alert`` about no user, carrying the devices and apps it names: it shows in
the queue but starts no investigation. No alert is skipped for its status or severity: detection
decides.
"""

from typing import Any

from alerts.adapters.base import AdapterContext, NormalisedEvent
from alerts.adapters.fields import (
    as_list,
    email_addresses,
    lower_keys,
    normalise_ip,
    objects,
    parse_time,
    pick,
    require_object,
    text,
    upn,
)
from alerts.models import Event

_PRIMARY = ("userevidence", "mailboxevidence", "mailboxconfigurationevidence")
_FALLBACK = ("analyzedmessageevidence", "deviceevidence")
_APPS = ("cloudapplicationevidence", "oauthapplicationevidence")


def normalise(record: Any, ctx: AdapterContext) -> list[NormalisedEvent]:
    rec = lower_keys(require_object(record))
    alert_id = text(rec.get("id"))
    title = text(rec.get("title"))
    evidence = objects(rec.get("evidence"))
    accounts: dict[str, dict[str, Any]] = {}
    for kinds in (_PRIMARY, _FALLBACK):
        for item in evidence:
            if _evidence_type(item) in kinds:
                for account in _accounts(item):
                    accounts.setdefault(account["upn"], account)
        if accounts:
            break
    ips, countries = [], []
    for item in evidence:
        if _evidence_type(item) == "ipevidence" and normalise_ip(item.get("ipaddress")):
            ips.append(normalise_ip(item.get("ipaddress")))
            countries.append(text(item.get("countrylettercode")).upper())
    occurred_at = parse_time(pick(rec, "firstactivitydatetime", "createddatetime", "lastupdatedatetime"))
    attributes = {
        "title": title,
        "severity": text(rec.get("severity")).lower(),
        "category": text(rec.get("category")),
        "status": text(rec.get("status")),
        "service_source": text(rec.get("servicesource")),
        "detection_source": text(rec.get("detectionsource")),
        "product_name": text(rec.get("productname")),
        "provider_alert_id": text(rec.get("provideralertid")) or alert_id,
        "alert_id": alert_id,
        "incident_id": text(rec.get("incidentid")),
        "classification": text(rec.get("classification")),
        "determination": text(rec.get("determination")),
        "mitre_techniques": [text(t) for t in as_list(rec.get("mitretechniques")) if text(t)],
        "alert_web_url": text(rec.get("alertweburl")),
        "description": text(rec.get("description"))[:1000],
        "first_activity": text(rec.get("firstactivitydatetime")),
        "last_activity": text(rec.get("lastactivitydatetime")),
        "evidence_ips": ips,
        "devices": _names(evidence, ("deviceevidence",), "devicednsname", "hostname", "mdedeviceid", "azureaddeviceid"),
        "apps": _names(evidence, _APPS, "displayname", "instancename", "appid"),
    }
    country = countries[0] if countries and len(countries[0]) == 2 and countries[0].isalpha() else ""
    if not accounts:  # about no user: one event, its record id the alert's
        accounts[None] = {"upn": None, "display_name": "", "external_id": "", "roles": []}
    return [
        NormalisedEvent(
            upn=account["upn"],
            occurred_at=occurred_at,
            kind=Event.Kind.EXTERNAL_ALERT,
            operation=text(rec.get("category")) or "SecurityAlert",
            source_record_id=_record_id(alert_id, account["upn"]),
            ip=ips[0] if ips else None,
            country=country,
            subject=title,
            target=alert_id,
            attributes={**attributes, "evidence_roles": account["roles"]},
            raw=record,
            display_name=account["display_name"],
            external_id=account["external_id"],
        )
        for account in accounts.values()
    ]


def _record_id(alert_id: str, name: str | None) -> str:
    if not alert_id:
        return ""  # the pipeline fingerprints the record
    return f"{alert_id}:{name}" if name else alert_id


def _names(evidence: list[dict[str, Any]], kinds: tuple[str, ...], *fields: str) -> list[str]:
    """The first of ``fields`` each evidence item of ``kinds`` has (a device's DNS name, else its
    host name, else its id), each once, in the alert's order."""
    names: list[str] = []
    for item in evidence:
        if _evidence_type(item) in kinds:
            name = text(pick(item, *fields))
            if name and name not in names:
                names.append(name)
    return names


def _evidence_type(item: dict[str, Any]) -> str:
    odata = text(pick(item, "@odata.type", "at_sign_odata_type", "odata_type", "odatatype"))
    return odata.rsplit(".", 1)[-1].lower()


def _accounts(item: dict[str, Any]) -> list[dict[str, Any]]:
    kind = _evidence_type(item)
    roles = [text(role) for role in as_list(item.get("roles")) if text(role)]
    if kind == "analyzedmessageevidence":
        return [_account(address, roles=roles) for address in email_addresses(item.get("recipientemailaddress"))]
    if kind == "deviceevidence":
        users = item.get("loggedonusers") if isinstance(item.get("loggedonusers"), list) else []
        return [a for a in (_from_user_account(lower_keys(user), roles) for user in users) if a]
    account = _from_user_account(lower_keys(item.get("useraccount")), roles)
    if account is None:
        address = pick(item, "upn", "primaryaddress", "mailboxprimaryaddress")
        found = email_addresses(address)
        account = _account(found[0], display_name=text(item.get("displayname")), roles=roles) if found else None
    return [account] if account else []


def _from_user_account(account: dict[str, Any], roles: list[str]) -> dict[str, Any] | None:
    name = upn(account.get("userprincipalname"))
    if not name:
        account_name, domain = text(account.get("accountname")), text(account.get("domainname"))
        name = upn(f"{account_name}@{domain}") if account_name and "." in domain else ""
    if not name:
        return None
    return _account(
        name,
        display_name=text(account.get("displayname")),
        external_id=text(account.get("azureaduserid")),
        roles=roles,
    )


def _account(name: str, *, display_name: str = "", external_id: str = "", roles=()) -> dict[str, Any]:
    return {"upn": upn(name), "display_name": display_name, "external_id": external_id, "roles": list(roles)}

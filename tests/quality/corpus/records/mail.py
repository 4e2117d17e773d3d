"""Exchange message trace rows (``message-trace``, the Reporting web service shape: one row per
message and recipient) and Microsoft Graph security alerts v2 (``graph-alerts``).
"""

from datetime import datetime, timedelta

from tests.quality.corpus.emit import Emitter, graph_time, trace_time
from tests.quality.corpus.tenant import ORGANIZATION, TENANT_ID

TRACE_LATENCY = timedelta(minutes=30)
ALERT_LATENCY = timedelta(minutes=20)


def message(
    em: Emitter,
    at: datetime,
    *,
    sender: str,
    recipients: list[str],
    subject: str,
    from_ip: str | None,
    size: int | None = None,
    expanded_from: str | None = None,
) -> None:
    """One message: a trace row per recipient, sharing ``MessageId`` and ``MessageTraceId``.

    ``expanded_from`` names a distribution list: the trace then shows the list's own row with
    status ``Expanded`` before the members' rows, as Exchange reports a list expansion.
    """
    message_id = f"<{em.guid().replace('-', '').upper()}@LO2P265MB5221.GBRP265.PROD.OUTLOOK.COM>"
    trace_id = em.guid()
    size = size or em.rng.randint(18_000, 240_000)
    rows = [(expanded_from, "Expanded")] if expanded_from else []
    rows += [(recipient, "Delivered") for recipient in recipients]
    for index, (recipient, status) in enumerate(rows):
        row = {
            "__metadata": {
                "id": f"https://reports.office365.com/ecp/ReportingWebService/Reporting.svc/MessageTrace({index})",
                "uri": f"https://reports.office365.com/ecp/ReportingWebService/Reporting.svc/MessageTrace({index})",
                "type": "TenantReporting.MessageTrace",
            },
            "Organization": ORGANIZATION,
            "MessageId": message_id,
            "Received": trace_time(at),
            "SenderAddress": sender,
            "RecipientAddress": recipient,
            "Subject": subject,
            "Status": status,
            "ToIP": None,
            "FromIP": from_ip,
            "Size": size,
            "MessageTraceId": trace_id,
            "StartDate": trace_time(at - timedelta(hours=1)),
            "EndDate": trace_time(at + timedelta(hours=1)),
            "Index": index,
        }
        em.add("message-trace", at, row, delay=TRACE_LATENCY)


def security_alert(
    em: Emitter,
    at: datetime,
    *,
    title: str,
    category: str,
    severity: str,
    service_source: str,
    product: str,
    upn: str,
    display_name: str,
    object_id: str,
    ip: str | None,
    country: str = "",
    description: str = "",
    status: str = "new",
    techniques: tuple[str, ...] = (),
) -> None:
    """A Graph security ``alert`` (v2) whose evidence names the user (and the attacker's address)."""
    account, _, domain = upn.partition("@")
    evidence = [
        {
            "@odata.type": "#microsoft.graph.security.userEvidence",
            "createdDateTime": graph_time(at),
            "verdict": "suspicious",
            "remediationStatus": "none",
            "roles": ["compromised"],
            "userAccount": {
                "accountName": account,
                "domainName": domain,
                "userSid": "",
                "azureAdUserId": object_id,
                "userPrincipalName": upn,
                "displayName": display_name,
            },
        }
    ]
    if ip:
        evidence.append(
            {
                "@odata.type": "#microsoft.graph.security.ipEvidence",
                "createdDateTime": graph_time(at),
                "verdict": "suspicious",
                "remediationStatus": "none",
                "roles": ["attacker"],
                "ipAddress": ip,
                "countryLetterCode": country,
            }
        )
    alert_id = "da" + em.guid().replace("-", "")[:30]
    record = {
        "id": alert_id,
        "providerAlertId": em.guid(),
        "incidentId": str(em.rng.randint(1000, 9999)),
        "status": status,
        "severity": severity,
        "classification": None,
        "determination": None,
        "serviceSource": service_source,
        "detectionSource": service_source,
        "productName": product,
        "detectorId": em.guid(),
        "tenantId": TENANT_ID,
        "title": title,
        "description": description,
        "recommendedActions": "",
        "category": category,
        "assignedTo": None,
        "alertWebUrl": f"https://security.microsoft.com/alerts/{alert_id}?tid={TENANT_ID}",
        "incidentWebUrl": f"https://security.microsoft.com/incidents/1?tid={TENANT_ID}",
        "actorDisplayName": None,
        "threatDisplayName": None,
        "threatFamilyName": None,
        "mitreTechniques": list(techniques),
        "createdDateTime": graph_time(at + timedelta(minutes=5)),
        "lastUpdateDateTime": graph_time(at + timedelta(minutes=6)),
        "resolvedDateTime": None,
        "firstActivityDateTime": graph_time(at),
        "lastActivityDateTime": graph_time(at),
        "comments": [],
        "evidence": evidence,
    }
    em.add("graph-alerts", at, record, delay=ALERT_LATENCY)

"""Entra ID Protection risk detections as Graph ``identityProtection/riskDetections`` lists them
(``entra-signins``): an offline detection is made hours after the sign-in it names (``requestId``,
``correlationId``) and is listed once detected."""

from datetime import datetime, timedelta

from tests.quality.corpus.emit import Emitter, graph_time
from tests.quality.corpus.network import Network
from tests.quality.corpus.tenant import Person

LISTED = timedelta(minutes=10)  # from detection to the list


def signin_ids(em: Emitter, person: Person) -> tuple[str, str]:
    """(request id, correlation id) of the person's last Graph sign-in emitted."""
    record = next(r.payload for r in reversed(em.records) if r.source == "entra-signins" and r.payload.get(
        "userPrincipalName") == person.upn)  # fmt: skip
    return record["id"], record["correlationId"]


def risk_detection(
    em: Emitter,
    person: Person,
    activity: datetime,
    *,
    detected: datetime,
    net: Network,
    ip: str,
    risk_type: str,
    level: str,
    state: str = "atRisk",
    detail: str = "none",
    timing: str = "offline",
    updated: datetime | None = None,
    agent: str = "",
    ids: tuple[str, str] | None = None,
) -> None:
    request_id, correlation_id = ids or ("", "")
    record = {
        "id": f"{em.rng.getrandbits(256):064x}",
        "requestId": request_id or None,
        "correlationId": correlation_id or None,
        "riskEventType": risk_type,
        "riskState": state,
        "riskLevel": level,
        "riskDetail": detail,
        "source": "IdentityProtection",
        "detectionTimingType": timing,
        "activity": "signin" if request_id else "user",
        "tokenIssuerType": "AzureAD",
        "ipAddress": ip,
        "location": {
            "city": net.city,
            "state": net.state,
            "countryOrRegion": net.country,
            "geoCoordinates": {"altitude": None, "latitude": net.latitude, "longitude": net.longitude},
        },
        "activityDateTime": graph_time(activity),
        "detectedDateTime": graph_time(detected),
        "lastUpdatedDateTime": graph_time(updated or detected),
        "userId": person.object_id,
        "userDisplayName": person.display_name,
        "userPrincipalName": person.upn,
        "additionalInfo": f'[{{"Key":"userAgent","Value":"{agent}"}}]' if agent else "[]",
    }
    em.add("entra-signins", max(detected, updated or detected), record, delay=LISTED)

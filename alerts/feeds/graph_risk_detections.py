"""Entra ID Protection risk detections from Microsoft Graph ``/identityProtection/riskDetections``
into the ``entra-signins`` adapter (which reads a ``riskDetection`` as a ``risk_detection`` event).

Identity Protection rates some sign-ins only after the fact: an *offline* detection
(``detectionTimingType`` offline: attackerinTheMiddle, anomalousToken, unlikelyTravel,
leakedCredentials…) is made minutes to hours after the sign-in it names (``requestId``) and never
shows on that sign-in's record. This feed is how it reaches detection.

Read by ``detectedDateTime``, the time Entra made the detection (``activityDateTime`` is the sign-in's
own, hours earlier for an offline one, so a window on it would miss late detections); Microsoft
documents ``ge``/``le`` on it, not on ``lastUpdatedDateTime``. Pages hold 20 detections unless
``$top`` asks for more, 500 at most. Needs ``IdentityRiskEvent.Read.All`` and Entra ID P1 or P2
(P1 tenants see ``riskLevel`` ``hidden``). A detection's later change of state (dismissed by an
admin) is not read again: what was open when detected stays evidence.
"""

from datetime import timedelta

from alerts.feeds.graph_feed import GraphFeed
from m365 import permissions
from m365.endpoints import RISK_DETECTIONS_PATH
from m365.models import M365Feed

FEED = GraphFeed(
    stream="risk_detections",
    source="entra-signins",
    path=RISK_DETECTIONS_PATH,
    time_property="detectedDateTime",
    permission=permissions.for_feed(M365Feed.RISK_DETECTIONS),
    key=lambda record: record["id"],
    max_back=timedelta(days=30),
    overlap=timedelta(hours=2),
    page_size=500,
)

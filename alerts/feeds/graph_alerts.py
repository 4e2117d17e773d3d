"""Security alerts from Microsoft Graph ``/security/alerts_v2`` into the ``graph-alerts`` adapter.

Read by ``lastUpdateDateTime``, so an alert is fetched again each time Defender updates it
(status, classification, new evidence); the pair (id, lastUpdateDateTime) is what is new.
"""

from datetime import timedelta

from alerts.feeds.graph_feed import GraphFeed
from m365 import permissions
from m365.models import M365Feed

FEED = GraphFeed(
    stream="alerts",
    source="graph-alerts",
    path="security/alerts_v2",
    time_property="lastUpdateDateTime",
    permission=permissions.for_feed(M365Feed.ALERTS),
    key=lambda record: f"{record['id']}@{record['lastUpdateDateTime']}",
    max_back=timedelta(days=30),
)

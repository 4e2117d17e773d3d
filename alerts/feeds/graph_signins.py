"""Entra ID sign-ins from Microsoft Graph ``/auditLogs/signIns`` into the ``entra-signins`` adapter.

The list is filtered on ``createdDateTime`` and pages with ``@odata.nextLink`` (1,000 per page,
newest first). Entra keeps sign-ins 30 days (7 without a Premium licence); sign-in records arrive
minutes late, hence a two-hour overlap. A busy tenant has thousands of sign-ins an hour: windows of
an hour keep the ids remembered for a resumed window small.

Graph v1.0 lists interactive sign-ins only. Non-interactive ones (a client redeeming a refresh
token: what a replayed, stolen token looks like) are listed by Graph beta with the
``signInEventTypes`` filter; ``M365_NONINTERACTIVE_SIGNINS`` switches that second stream on. They
are many (often ten times the interactive ones), which is why it is off by default.
"""

from dataclasses import replace
from datetime import timedelta

from alerts.feeds.graph_feed import GraphFeed
from m365 import permissions
from m365.models import M365Feed

FEED = GraphFeed(
    stream="signins",
    source="entra-signins",
    path="auditLogs/signIns",
    time_property="createdDateTime",
    permission=permissions.for_feed(M365Feed.SIGNINS),
    key=lambda record: record["id"],
    max_back=timedelta(days=30),
    # Hour-long windows keep the ids remembered per window small on busy tenants.
    window=timedelta(hours=1),
    overlap=timedelta(hours=2),
)

NONINTERACTIVE_FEED = replace(
    FEED,
    stream="signins_noninteractive",
    condition="signInEventTypes/any(t: t eq 'nonInteractiveUser')",
    beta=True,
)

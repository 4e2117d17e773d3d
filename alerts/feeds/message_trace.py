"""Exchange Online message trace from Microsoft Graph into the ``message-trace`` adapter.

Graph's ``/admin/exchange/tracing/messageTraces`` (the successor of the Reporting web service
and of ``Get-MessageTrace``) is filtered on ``receivedDateTime`` with both bounds, at most 10
days apart and 90 days back, 5,000 rows a page at most, and throttled at 100 requests per
5 minutes. Each row is one recipient of one message.

The ``message-trace`` adapter reads the rows as the Reporting web service and
``Get-MessageTraceV2`` name their columns (``Received``, ``SenderAddress``…), so each Graph row is
renamed to that shape; the values are left as they are.
"""

from datetime import timedelta

from alerts.feeds.graph_feed import GraphFeed
from m365 import permissions
from m365.endpoints import MESSAGE_TRACE_PATH
from m365.models import M365Feed

COLUMNS = {
    "id": "MessageTraceId",
    "messageId": "MessageId",
    "receivedDateTime": "Received",
    "senderAddress": "SenderAddress",
    "recipientAddress": "RecipientAddress",
    "subject": "Subject",
    "status": "Status",
    "fromIP": "FromIP",
    "toIP": "ToIP",
    "size": "Size",
}


def as_trace_row(record: dict) -> dict:
    row = {column: record.get(name) for name, column in COLUMNS.items()}
    status = row.get("Status") or ""
    row["Status"] = status[:1].upper() + status[1:]  # delivered -> Delivered, as the cmdlet writes it
    return row


FEED = GraphFeed(
    stream="message_trace",
    source="message-trace",
    path=MESSAGE_TRACE_PATH,
    time_property="receivedDateTime",
    permission=permissions.for_feed(M365Feed.MESSAGE_TRACE),
    key=lambda record: f"{record['id']}:{record.get('recipientAddress', '')}",
    max_back=timedelta(days=90),
    page_size=5000,
    # One row per recipient adds up; 4-hour windows bound what a window remembers while a 7-day
    # backfill stays at 42 requests (the API allows 100 per 5 minutes).
    window=timedelta(hours=4),
    transform=as_trace_row,
)

"""Adapters: one module per source, each turning that source's records into normalised events.

``ADAPTERS`` maps the source names of the ingest API (``/api/v1/ingest/<source>/``) to them.
"""

from alerts.adapters import entra_signins, events, graph_alerts, message_trace, o365_audit
from alerts.adapters.base import Adapter, AdapterContext, NormalisedEvent, RecordError

ADAPTERS: dict[str, Adapter] = {
    "o365-audit": o365_audit.normalise,
    "entra-signins": entra_signins.normalise,
    "message-trace": message_trace.normalise,
    "graph-alerts": graph_alerts.normalise,
    "events": events.normalise,
}
SOURCES = tuple(ADAPTERS)

__all__ = ["ADAPTERS", "SOURCES", "Adapter", "AdapterContext", "NormalisedEvent", "RecordError"]

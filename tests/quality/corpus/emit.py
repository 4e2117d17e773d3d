"""The corpus collector: records per source, each with the moment its feed delivers it."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import Random

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
DAYS = 14


@dataclass(frozen=True)
class Record:
    source: str  # an ingest source name: o365-audit, entra-signins, message-trace, graph-alerts
    arrives_at: datetime  # when the feed hands it over (activity time plus the feed's latency)
    payload: dict


@dataclass
class Emitter:
    rng: Random
    records: list[Record] = field(default_factory=list)

    def add(self, source: str, at: datetime, payload: dict, *, delay: timedelta = timedelta(0)) -> None:
        self.records.append(Record(source, at + delay, payload))

    def guid(self) -> str:
        value = f"{self.rng.getrandbits(128):032x}"
        return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-a{value[17:20]}-{value[20:]}"


def graph_time(at: datetime) -> str:
    """Graph writes ``2026-03-02T08:14:03Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def audit_time(at: datetime) -> str:
    """The Management Activity API writes ``CreationTime`` without a zone (it is UTC)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def trace_time(at: datetime) -> str:
    """The Reporting web service writes ``/Date(<ms since epoch>)/``."""
    return f"/Date({int(at.timestamp() * 1000)})/"

"""The soak's workload and its instruments: demo-tenant days for ten tenants, an API client, RSS samples.

Ten tenants stand for a deployment ten times the demo: the demo tenant's records with its
domain rewritten (``t0.contoso.com`` … ``t9.contoso.com``), 22 users each. A *round* is one
tenant's demo day (``DemoTenant(days=1)``: everybody's sign-ins and mail of a working day,
plus the demo's four attack stories), with a fresh seed and the tenant's clock one day later
than its previous round, so every record is new and the attacks come back day after day.
"""

import http.client
import json
import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from demo.records import DOMAIN, DemoTenant
from tests.reliability.services import rss_kib

TENANTS = 10
SOURCES = ("entra-signins", "o365-audit", "message-trace", "graph-alerts")
PAGE = 1000  # records per request, the size of a Graph page
FIRST_DAY = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)  # a Wednesday evening
ATTACKED = ("megan.bowen", "lee.gu", "diego.siciliani", "alex.wilber")


def tenant_domain(tenant: int) -> str:
    return f"t{tenant}.{DOMAIN}"


def demo_day(round_number: int) -> dict[str, list[dict]]:
    """The records of round ``round_number``: tenant ``round_number % 10``, its next day."""
    tenant, day = round_number % TENANTS, round_number // TENANTS
    records = DemoTenant(now=FIRST_DAY + timedelta(days=day), seed=10_000 + round_number, days=1).build()
    return json.loads(json.dumps(records).replace(DOMAIN, tenant_domain(tenant)))


def record_keys(source: str, record: dict) -> set[str]:
    """The ``source_record_id`` of each event the adapters make of a demo record."""
    if source == "message-trace":
        return {f"{record['MessageTraceId']}:{record['RecipientAddress']}"}
    if source == "graph-alerts":
        return {
            f"{record['id']}:{evidence['userAccount']['userPrincipalName']}"
            for evidence in record["evidence"]
            if "userAccount" in evidence
        }
    return {record["Id"] if source == "o365-audit" else record["id"]}


class Api:
    """A small HTTP client of the web process (bearer tokens, JSON)."""

    def __init__(self, port: int):
        self.port = port

    def call(self, method: str, path: str, token: str, body=None, timeout: float = 120) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            payload = None if body is None else json.dumps(body).encode()
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(data) if data else {}
        except ValueError:
            return response.status, {"body": data[:300].decode(errors="replace")}


@dataclass
class Ledger:
    """What the soak did, for the checks at the end."""

    posted: dict[str, set[str]] = field(default_factory=lambda: {source: set() for source in SOURCES})
    records: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    approvals: int = 0
    rounds: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


def ingest_round(api: Api, token: str, round_number: int, ledger: Ledger) -> None:
    for source, records in demo_day(round_number).items():
        for start in range(0, len(records), PAGE):
            page = records[start : start + PAGE]
            status, answer = api.call("POST", f"/api/v1/ingest/{source}/", token, page)
            with ledger.lock:
                ledger.requests += 1
            if status != 200 or answer.get("rejected") or answer.get("received") != len(page):
                ledger.error(f"ingest {source} round {round_number}: {status} {str(answer)[:300]}")
                continue
            with ledger.lock:
                ledger.records += len(page)
                for record in page:
                    ledger.posted[source] |= record_keys(source, record)
    with ledger.lock:
        ledger.rounds += 1


def approve_pending(api: Api, first: str, second: str, ledger: Ledger) -> int:
    """Approve every action waiting for approval, as an analyst, then a manager for four-eyes kinds."""
    approved = 0
    path = "/api/v1/investigations/?status=pending_action"
    while path:
        status, page = api.call("GET", path, first)
        if status != 200:
            ledger.error(f"GET {path}: {status} {str(page)[:200]}")
            return approved
        for investigation in page["results"]:
            for action in investigation["actions"]:
                if action["status"] != "pending_approval":
                    continue
                url = f"/api/v1/actions/{action['id']}/approve/"
                status, answer = api.call("POST", url, first, {"comment": "soak"})
                if status == 200 and answer["status"] == "pending_approval":  # four-eyes: the second approver
                    status, answer = api.call("POST", url, second, {"comment": "soak, second"})
                if status == 200:
                    approved += 1
                elif status not in (403, 409):  # 403/409: decided by someone else meanwhile
                    ledger.error(f"approve {action['id']}: {status} {str(answer)[:200]}")
        path = page["next"].split(f":{api.port}", 1)[-1] if page.get("next") else ""
    with ledger.lock:
        ledger.approvals += approved
    return approved


@dataclass
class MemorySamples:
    """RSS (KiB) of the web and the worker processes over time."""

    samples: list[tuple[float, int, int]] = field(default_factory=list)

    def take(self, started: float, web_pids: list[int], worker_pids: list[int]) -> None:
        self.samples.append((time.monotonic() - started, sum(map(rss_kib, web_pids)), sum(map(rss_kib, worker_pids))))

    def growth_after(self, warm_up: float, column: int, window: int = 5) -> tuple[float, float]:
        """(MiB just after ``warm_up`` seconds, MiB at the end): medians of ``window`` samples each."""
        after = [sample[column] for sample in self.samples if sample[0] >= warm_up]
        return statistics.median(after[:window]) / 1024, statistics.median(after[-window:]) / 1024

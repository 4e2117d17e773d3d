"""Shared by the ingest and adapter tests: the public sample datasets, a no-database adapter run,
and one sign-in as each source reports it."""

import json
from pathlib import Path

import pytest

from alerts.adapters import ADAPTERS, AdapterContext, RecordError
from alerts.adapters.base import RecordSkipped

DATASETS = Path(__file__).resolve().parents[3].parent / "shared" / "datasets"


def dataset_lines(relative: str) -> list:
    """The JSON lines of a sample file in ../shared/datasets (skips the test when it is absent)."""
    path = DATASETS / relative
    if not path.exists():
        pytest.skip(f"sample data {relative} not found: ../shared/datasets is absent in this checkout")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def dataset_path(relative: str) -> Path:
    path = DATASETS / relative
    if not path.exists():
        pytest.skip(f"sample data {relative} not found: ../shared/datasets is absent in this checkout")
    return path


def context(*domains: str) -> AdapterContext:
    return AdapterContext(tenant_domains_loader=lambda: frozenset(domains))


def normalise(source: str, record, *domains: str):
    """The adapter's events for ``record`` (no database involved)."""
    return ADAPTERS[source](record, context(*domains))


def one(source: str, record, *domains: str):
    events = normalise(source, record, *domains)
    assert len(events) == 1, events
    return events[0]


def error_of(source: str, record) -> str:
    with pytest.raises((RecordError, RecordSkipped)) as caught:  # malformed, or valid but out of scope
        normalise(source, record)
    return str(caught.value)


def audit_logon(request_id: str = "a196489a-9a7c-4824-b35a-5bfdec600c00", user: str = "Megan@Contoso.com", **extra):
    return {
        "CreationTime": "2024-03-01T10:00:00",
        "Id": f"audit-{request_id}",
        "Operation": "UserLoggedIn",
        "RecordType": 15,
        "Workload": "AzureActiveDirectory",
        "UserId": user,
        "ClientIP": "8.8.8.8:4711",
        "IntraSystemId": request_id,
        **extra,
    }


def graph_signin(request_id: str = "A196489A-9A7C-4824-B35A-5BFDEC600C00", **extra):
    return {
        "id": request_id,
        "createdDateTime": "2024-03-01T10:00:01Z",
        "userPrincipalName": "megan@contoso.com",
        "userDisplayName": "Megan Bowen",
        "ipAddress": "8.8.8.8",
        "status": {"errorCode": 0},
        "clientAppUsed": "Browser",
        **extra,
    }

"""Property-based fuzzing: any JSON value into any adapter gives stored events or a per-record error.

Two layers: the adapters alone (many examples, no database), and the whole pipeline with its
database writes (fewer examples), where PostgreSQL's refusals (NUL, lone surrogates, NaN) would
surface as exceptions if the cleaning missed a case.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.adapters import ADAPTERS, SOURCES, RecordError
from alerts.adapters.base import RecordSkipped
from alerts.ingest import ingest_records
from alerts.ingest.prepare import prepare
from alerts.models import Event
from tests.alerts.support.ingest import context

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=6),
    max_leaves=30,
)

# Keys the adapters read, so the fuzzer gets past the first checks and into the mapping code.
KNOWN_KEYS = [
    "CreationTime", "Id", "Operation", "Workload", "RecordType", "UserId", "ClientIP", "ActorIpAddress",
    "IntraSystemId", "ExtendedProperties", "DeviceProperties", "ErrorNumber", "Parameters", "Item", "Folders",
    "OperationProperties", "MailboxOwnerUPN", "ModifiedProperties", "Target", "ObjectId", "Data", "Name",
    "AlertId", "AuditData", "id", "createdDateTime", "userPrincipalName", "status", "location", "ipAddress",
    "clientAppUsed", "riskEventTypes_v2", "properties", "category", "activityDisplayName", "initiatedBy",
    "targetResources", "evidence", "title", "Received", "SenderAddress", "RecipientAddress", "MessageTraceId",
    "user", "occurred_at", "kind", "attributes", "time",
]  # fmt: skip
OPERATIONS = [
    "UserLoggedIn", "UserLoginFailed", "New-InboxRule", "Set-InboxRule", "Remove-InboxRule", "UpdateInboxRules",
    "Set-Mailbox", "Add-MailboxPermission", "Add-RecipientPermission", "Send", "SendAs", "MailItemsAccessed",
    "Update user.", "Consent to application.", "AlertEntityGenerated", "AlertTriggered", "MCAS_ALERT_X",
]  # fmt: skip
shaped_values = (
    scalars
    | st.sampled_from(OPERATIONS)
    | st.sampled_from(["2024-03-01T10:00:00Z", "/Date(1658751973240)/", "3/1/2024 1:02:03 PM", "1.2.3.4:80"])
    | st.sampled_from(["SecurityComplianceCenter", "AzureActiveDirectory", "Exchange", "SignInLogs", "AuditLogs"])
    | st.emails()
    | st.lists(st.fixed_dictionaries({"Name": st.text(max_size=25), "Value": scalars}), max_size=4)
    | st.lists(
        st.dictionaries(st.sampled_from(["@odata.type", "userAccount", "upn", "ipAddress"]), scalars), max_size=3
    )
    | json_values
)
records = json_values | st.dictionaries(st.sampled_from(KNOWN_KEYS), shaped_values, max_size=14)


@pytest.mark.parametrize("source", SOURCES)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=records)
def test_an_adapter_returns_events_or_raises_a_record_error(source, record):
    try:
        events = ADAPTERS[source](record, context("contoso.com"))
    except (RecordError, RecordSkipped) as exc:
        assert str(exc)
        return
    assert events
    for event in events:
        try:
            prepared = prepare(event)
        except RecordError:
            continue
        assert prepared.event.kind in Event.Kind.values
        assert "\x00" not in prepared.raw_json + prepared.event.subject + prepared.event.target


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("source", SOURCES)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(records, max_size=6))
def test_the_pipeline_stores_or_rejects_every_record_of_a_fuzzed_batch(source, batch):
    result = ingest_records(source=source, records=batch)
    assert result.received == len(batch)
    assert result.created + result.duplicates + len(result.rejected) + len(result.skipped) == len(batch)
    assert not [r for r in result.rejected if r["error"].startswith("could not be read")], result.rejected

"""The fake Microsoft 365 on 127.0.0.1 over TLS, and settings that point the connector at it.

A pytest plugin (``tests/conftest.py``): the m365, feed and connector tests all use these fixtures.
"""

import pytest

from m365.client import forget_tokens
from tests.m365 import records
from tests.m365.fake.server import FakeServers
from tests.m365.fake.tenant import FakeMicrosoft
from tests.m365.fake.tls import make_certificates
from tests.m365.records import LEE, MEGAN


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def fake_microsoft(tls_files, settings, monkeypatch):
    """A running fake tenant; the connector is configured for it through the M365_* settings."""
    fake = FakeMicrosoft()
    fake.servers = FakeServers(fake, tls_files["cert"], tls_files["key"])
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files["ca"]))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    settings.M365_LOGIN_URL = fake.url("login")
    settings.M365_GRAPH_URL = fake.url("graph") + "/v1.0"
    settings.M365_MANAGEMENT_URL = fake.url("manage") + "/api/v1.0"
    settings.M365_EXCHANGE_URL = fake.url("exchange")
    settings.M365_TENANT_ID = fake.tenant_id
    settings.M365_CLIENT_ID = fake.client_id
    settings.M365_CLIENT_SECRET = fake.client_secret
    settings.M365_CERTIFICATE_PATH = ""
    settings.M365_BACKFILL_DAYS = 7
    forget_tokens()
    yield fake
    forget_tokens()
    fake.servers.stop()


@pytest.fixture
def m365_client(fake_microsoft, db):
    from m365.client import M365Client
    from m365.config import config_get

    return M365Client(config_get())


@pytest.fixture
def tenant_logs(fake_microsoft):
    """A week of activity in every feed, plus some the pull must not reach."""
    fake, ago = fake_microsoft, fake_microsoft.days_ago
    fake.add_blob("Audit.Exchange", ago(6.5), [records.audit_inbox_rule(ago(6.6), MEGAN, "a")])
    fake.add_blob("Audit.Exchange", ago(3), [records.audit_inbox_rule(ago(3.1), MEGAN, "b")] * 1)
    fake.add_blob("Audit.Exchange", ago(3.05), [records.audit_inbox_rule(ago(3.1), LEE, "c")])
    fake.add_blob("Audit.Exchange", ago(0.1), [records.audit_inbox_rule(ago(0.2), LEE, "d")])
    fake.add_blob("Audit.Exchange", ago(8), [records.audit_inbox_rule(ago(8), LEE, "too old")])
    fake.add_blob("Audit.AzureActiveDirectory", ago(1), [records.audit_directory(ago(1.1), LEE) for _ in range(3)])
    fake.add_blob("Audit.General", ago(5), [records.audit_general(ago(5), MEGAN)])
    fake.signins += [records.signin(ago(days), MEGAN) for days in (0.01, 0.5, 1.5, 2.5, 6.9)]
    fake.signins.append(records.signin(ago(10), MEGAN))  # before the 7-day backfill
    fake.alerts += [records.security_alert(ago(days), LEE) for days in (0.2, 4)]
    fake.message_traces += [records.message_trace(ago(days), MEGAN, LEE) for days in (0.3, 1, 2)]
    return fake

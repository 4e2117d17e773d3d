"""The fake Microsoft 365 on 127.0.0.1 over TLS, and settings that point the connector at it."""

import pytest

from alerts.feeds.client import forget_tokens
from tests.m365.fake.server import FakeServers
from tests.m365.fake.tenant import FakeMicrosoft
from tests.m365.fake.tls import make_certificates


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
    from alerts.feeds.client import M365Client
    from alerts.feeds.config import config_get

    return M365Client(config_get())

"""The HTTP layer: TLS verified against the environment's CA bundle, MSAL sign-in with a secret or a
certificate on a login URL that is not Microsoft's, tokens reused until they expire."""

import logging

import pytest
import requests

from alerts.feeds.cycle import m365_pull_cycle
from alerts.models import M365FeedState
from m365.client import AuthenticationFailed, M365Client, Unavailable, http_session
from m365.config import M365Config, certificate_parse, config_get
from tests.m365 import records
from tests.m365.fake.tls import make_app_certificate

pytestmark = pytest.mark.django_db


def signins(client: M365Client) -> list:
    return [row for page in client.graph_pages("auditLogs/signIns", params={}, permission="p") for row in page]


def test_a_server_certificate_from_an_unknown_ca_is_refused(fake_microsoft, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")  # certifi's bundle does not know the test CA

    with pytest.raises(Unavailable, match="SSLError"):
        signins(M365Client(config_get()))

    assert fake_microsoft.token_requests == []  # the secret was never sent


def test_verification_cannot_be_switched_off_per_request(fake_microsoft, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")

    with pytest.raises(requests.exceptions.SSLError):
        http_session().get(fake_microsoft.url("login") + "/", verify=False, timeout=5)


def test_ssl_cert_file_is_honoured_as_the_ca_bundle(fake_microsoft, monkeypatch, tls_files):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files["ca"]))
    fake_microsoft.signins.append(records.signin(fake_microsoft.days_ago(1), "a@contoso.com"))

    assert len(signins(M365Client(config_get()))) == 1


def test_a_pull_over_untrusted_tls_records_the_failure_on_every_stream(fake_microsoft, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")

    report = m365_pull_cycle()

    assert report.runs and all("SSLError" in run.error for run in report.runs)
    assert M365FeedState.objects.filter(last_error__contains="SSLError").count() == len(report.runs) == 8


def test_the_client_signs_in_with_a_certificate_instead_of_a_secret(fake_microsoft, settings, tmp_path):
    pem = make_app_certificate()
    fake_microsoft.certificate_pem = pem[pem.index("-----BEGIN CERTIFICATE-----") :]
    path = tmp_path / "app.pem"
    path.write_text(pem)
    settings.M365_CLIENT_SECRET = ""
    settings.M365_CERTIFICATE_PATH = str(path)
    fake_microsoft.signins.append(records.signin(fake_microsoft.days_ago(1), "a@contoso.com"))

    config = config_get()

    assert config.credential_kind == "certificate"
    assert len(signins(M365Client(config))) == 1  # the fake verified the signed client assertion


def test_a_wrong_secret_fails_with_entras_reason_and_without_the_secret(fake_microsoft, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = M365Config(tenant_id=fake_microsoft.tenant_id, client_id=fake_microsoft.client_id, client_secret="nope-9x")

    with pytest.raises(AuthenticationFailed, match="AADSTS7000215") as raised:
        signins(M365Client(wrong))

    assert "nope-9x" not in raised.value.message and "nope-9x" not in caplog.text
    assert "nope-9x" not in repr(wrong)


def test_an_unknown_tenant_is_reported_as_such(fake_microsoft):
    other = M365Config(tenant_id="00000000-0000-0000-0000-000000000000", client_id="x", client_secret="y")

    with pytest.raises(AuthenticationFailed, match="does not know tenant"):
        signins(M365Client(other))


def test_the_token_is_reused_until_it_expires_then_renewed(fake_microsoft, monkeypatch):
    client = M365Client(config_get())
    signins(client)
    signins(M365Client(config_get()))  # another client of the same configuration shares the cache
    assert len(fake_microsoft.token_requests) == 1

    real_time = __import__("time").time
    monkeypatch.setattr("msal.token_cache.time.time", lambda: real_time() + 3600)  # an hour later
    signins(client)

    assert len(fake_microsoft.token_requests) == 2


def test_the_bearer_token_is_never_sent_to_a_host_other_than_the_configured_one(fake_microsoft):
    fake_microsoft.signins += [records.signin(fake_microsoft.days_ago(1), f"u{i}@contoso.com") for i in range(3)]
    fake_microsoft.fail(
        "graph", "GET", "signIns", 200, body={"value": [], "@odata.nextLink": "https://evil.example/steal"}
    )

    with pytest.raises(Exception, match="Refusing to send the token to evil.example"):
        signins(M365Client(config_get()))


def test_a_certificate_pem_without_its_private_key_is_refused_with_a_reason():
    pem = make_app_certificate()
    only_certificate = pem[pem.index("-----BEGIN CERTIFICATE-----") :]

    with pytest.raises(Exception, match="unencrypted private key"):
        certificate_parse(only_certificate)


def test_a_private_key_of_another_certificate_is_refused():
    one, other = make_app_certificate(), make_app_certificate()
    split = "-----BEGIN CERTIFICATE-----"
    mismatched = one[: one.index(split)] + other[other.index(split) :]

    with pytest.raises(Exception, match="does not belong to the certificate"):
        certificate_parse(mismatched)

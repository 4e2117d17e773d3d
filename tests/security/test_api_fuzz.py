"""The OpenAPI schema fuzzed with schemathesis against the Django WSGI app, as an admin with a
Bearer token: no endpoint answers 5xx, whatever the body, query or path.

Path ids are pointed at real rows half of the time, so the fuzzer reaches the services behind the
404s. Examples are bounded and derandomised (a fixed seed per operation) so CI stays fast and
repeatable; raise FUZZ_EXAMPLES locally to search longer.
"""

import os

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.urlmap import world_build

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))


@pytest.fixture
def api_schema(admin_client):
    """The schema, served to the fuzzer by Django's WSGI handler on the test's connection."""
    response = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = schemathesis.openapi.from_dict(response.json())
    schema.app = WSGIHandler()
    # Like the test client (and after its last request, which reconnects them): the handler must
    # not close the connection at the end of each request, that would end the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schema
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _operations(schema) -> list:
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15  # every API endpoint, reads and writes
    return operations


def _real_ids(world) -> dict[str, int]:
    return {
        "alert_id": world.alert.pk,
        "investigation_id": world.investigation.pk,
        "action_id": world.action.pk,
    }


def test_no_api_endpoint_answers_a_server_error(api_schema, admin_user, bearer):
    world = world_build(admin_user)
    headers = {"Authorization": bearer(admin_user)["HTTP_AUTHORIZATION"]}
    real = _real_ids(world)
    failures: list[str] = []

    for operation in _operations(api_schema):

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), use_real_ids=st.booleans())
        def fuzz(case, use_real_ids):
            if use_real_ids and case.path_parameters:
                case.path_parameters = {name: real.get(name, value) for name, value in case.path_parameters.items()}
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: {case.as_curl_command()}"
                )

        fuzz()
    assert not failures, "\n".join(list(dict.fromkeys(failures))[:20])


# --- What the fuzzer found, pinned ----------------------------------------------------------------


def test_bulk_triage_with_an_id_past_64_bits_is_a_400(client, admin_user, bearer):
    response = client.post(
        "/api/v1/alerts/bulk/",
        {"ids": [2**70], "action": "start"},
        content_type="application/json",
        **bearer(admin_user),
    )
    assert response.status_code == 400
    assert "ids" in response.json()

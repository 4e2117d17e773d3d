"""The Policies page: admins only, edit with validation, back-test partial, suppressions, history."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import AlertPolicy, AlertSuppression
from tests.alerts.support.detection import detect, identity, rule_event

pytestmark = pytest.mark.django_db


def _policy(detector="suspicious_inbox_rule"):
    return AlertPolicy.objects.get(detector=detector)


def _form(policy, **overrides):
    data = {
        "enabled": "on" if policy.enabled else "",
        "severity": policy.severity,
        "automation_level": policy.automation_level,
        "version": policy.version,
        "comment": "",
    }
    for name, value in policy.parameters.items():
        data[f"param_{name}"] = "\n".join(value) if isinstance(value, list) else ("on" if value is True else value)
    data = {key: value for key, value in data.items() if value is not False}
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("persona", "status"), [("admin", 200), ("manager", 403), ("analyst", 403), ("ingest", 403), ("outsider", 403)]
)
def test_policies_are_for_admins_only(client, personas, persona, status):
    client.force_login(personas[persona])
    assert client.get(reverse("alerts:policy_list")).status_code == status
    assert client.get(reverse("alerts:policy_edit", args=[_policy().pk])).status_code == status
    response = client.post(reverse("alerts:policy_toggle", args=[_policy().pk]))
    assert response.status_code == status
    assert _policy().enabled is True or persona == "admin"


def test_policy_list_shows_every_policy_in_constant_queries(admin_client, django_assert_max_num_queries):
    admin_client.get(reverse("alerts:policy_list"))
    with django_assert_max_num_queries(6):  # session, user, permissions, policies (+ navigation)
        html = admin_client.get(reverse("alerts:policy_list")).content.decode()
    assert html.count('<tr id="policy-') == 9
    assert "Suspicious sign-in" in html and "<script>" not in html


def test_toggle_answers_the_row_and_a_toast(admin_client):
    policy = _policy()
    response = admin_client.post(
        reverse("alerts:policy_toggle", args=[policy.pk]), {"version": policy.version}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert f'id="policy-{policy.pk}"' in response.content.decode() and "Enable</button>" in response.content.decode()
    assert "disabled" in response.headers["HX-Trigger"]
    assert _policy().enabled is False


def test_edit_saves_a_new_version_and_shows_it_in_the_history(admin_client):
    policy = _policy()
    url = reverse("alerts:policy_edit", args=[policy.pk])
    response = admin_client.post(url, _form(policy, param_min_score="4", severity="low", comment="Too noisy"))
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.version, policy.parameters["min_score"], policy.severity) == (2, 4, "low")
    html = admin_client.get(url).content.decode()
    assert "Too noisy" in html and "parameters.min_score" in html and "<strong>4</strong>" in html


def test_edit_with_bad_parameters_shows_the_error_and_saves_nothing(admin_client):
    policy = _policy()
    response = admin_client.post(reverse("alerts:policy_edit", args=[policy.pk]), _form(policy, param_min_score="0"))
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 1" in response.content.decode()
    assert _policy().version == 1


def test_edit_after_someone_else_saved_reports_the_conflict(admin_client):
    policy = _policy()
    stale = _form(policy, severity="low")
    admin_client.post(reverse("alerts:policy_edit", args=[policy.pk]), _form(policy, severity="medium"))
    response = admin_client.post(reverse("alerts:policy_edit", args=[policy.pk]), stale)
    assert response.status_code == 400 and "Someone else saved this policy" in response.content.decode()
    assert _policy().severity == "medium"


def test_attacker_text_in_parameters_is_escaped(admin_client):
    policy = _policy()
    admin_client.post(
        reverse("alerts:policy_edit", args=[policy.pk]), _form(policy, param_keywords="<script>alert(1)</script>")
    )
    html = admin_client.get(reverse("alerts:policy_edit", args=[policy.pk])).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_backtest_partial_draws_current_against_proposed(admin_client):
    megan = identity()
    now = timezone.now()
    detect(
        [
            rule_event(
                megan,
                now - timedelta(days=2),
                {"name": "tidy", "move_to_folder": "Archive", "forward_to": ["boss@contoso.com"]},
            )
        ]
    )
    policy = _policy()
    response = admin_client.post(
        reverse("alerts:policy_backtest", args=[policy.pk]),
        {**_form(policy, param_min_score="4"), "days": "7"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>1</strong> alerts with the current parameters" in html
    assert "<strong>0</strong> with the proposed ones" in html
    assert 'data-plotly="backtest-chart"' in html and 'id="backtest-chart"' in html
    assert _policy().version == 1  # a back-test saves nothing


def test_backtest_with_bad_parameters_says_why(admin_client):
    policy = _policy()
    response = admin_client.post(
        reverse("alerts:policy_backtest", args=[policy.pk]), {**_form(policy), "days": "500"}, HTTP_HX_REQUEST="true"
    )
    assert "less than or equal to 60" in response.content.decode()


def test_suppressions_are_added_listed_and_ended(admin_client):
    policy = _policy()
    expires = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = admin_client.post(
        reverse("alerts:suppression_add", args=[policy.pk]),
        {"kind": "ip_range", "value": "203.0.113.7/24", "reason": "Pen test", "expires_at": expires},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and "203.0.113.0/24" in response.content.decode()
    suppression = AlertSuppression.objects.get()
    response = admin_client.post(
        reverse("alerts:suppression_end", args=[policy.pk, suppression.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "No active suppression" in response.content.decode()
    again = admin_client.post(
        reverse("alerts:suppression_end", args=[policy.pk, suppression.pk]), HTTP_HX_REQUEST="true"
    )
    assert again.status_code == 409


def test_a_bad_suppression_is_explained_and_not_stored(admin_client):
    policy = _policy()
    response = admin_client.post(
        reverse("alerts:suppression_add", args=[policy.pk]),
        {"kind": "ip_range", "value": "not-an-ip", "reason": "x", "expires_at": "2999-01-01T00:00"},
        HTTP_HX_REQUEST="true",
    )
    assert "is not an IP address or range" in response.content.decode()
    assert not AlertSuppression.objects.exists()


def test_policies_link_appears_only_in_the_admins_navigation(client, admin_user, analyst):
    client.force_login(admin_user)
    assert f'href="{reverse("alerts:policy_list")}"' in client.get(reverse("dashboard")).content.decode()
    client.force_login(analyst)
    assert f'href="{reverse("alerts:policy_list")}"' not in client.get(reverse("dashboard")).content.decode()

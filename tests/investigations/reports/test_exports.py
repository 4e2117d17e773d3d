"""CSV exports: exactly the filtered rows, streamed, with formula injection neutralised."""

import csv
import io

import pytest
from django.urls import reverse

from airportal.exports import csv_cell
from alerts.models import Alert

pytestmark = pytest.mark.django_db

PERIOD = {"period": "custom", "since": "2025-03-01", "until": "2025-03-07"}


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+33 1 23 45", "'+33 1 23 45"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("plain text", "plain text"),
        ("a=b", "a=b"),
        (-5, "-5"),
        (None, ""),
        (True, "true"),
    ],
)
def test_csv_cell_quotes_formula_triggers_only(value, cell):
    assert csv_cell(value) == cell


def _csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_alert_export_matches_the_filters(client, manager, world):
    client.force_login(manager)
    rows = _csv(client.get(reverse("investigations:report_export", args=["alerts"]), {**PERIOD, "severity": "high"}))
    assert sorted(int(row["id"]) for row in rows) == sorted([world.alerts["a1"].pk, world.alerts["a4"].pk])
    rows = _csv(client.get(reverse("investigations:report_export", args=["alerts"]), {**PERIOD, "analyst": "arthur"}))
    assert {row["user"] for row in rows} == {"carol@contoso.com"}
    assert len(rows) == 2
    rows = _csv(client.get(reverse("investigations:report_export", args=["alerts"]), PERIOD))
    assert len(rows) == 5  # not the alerts of other periods


def test_alert_export_escapes_attacker_controlled_titles(client, manager, world):
    Alert.objects.filter(pk=world.alerts["a1"].pk).update(title='=HYPERLINK("http://evil.example","Click")')
    client.force_login(manager)
    rows = _csv(client.get(reverse("investigations:report_export", args=["alerts"]), PERIOD))
    title = next(row["title"] for row in rows if int(row["id"]) == world.alerts["a1"].pk)
    assert title == '\'=HYPERLINK("http://evil.example","Click")'


def test_action_export_matches_filters_and_escapes_cells(client, manager, world):
    client.force_login(manager)
    url = reverse("investigations:report_export", args=["actions"])
    rows = _csv(client.get(url, {**PERIOD, "kind": "reset_password"}))
    assert [int(row["id"]) for row in rows] == [world.actions["reset"].pk]
    assert rows[0]["rejected_by"] == "arthur"
    assert rows[0]["decision_comment"] == "'+1 not needed, user on leave"
    failed = _csv(client.get(url, {**PERIOD, "status": "failed"}))
    assert [row["error"] for row in failed] == ['\'=HYPERLINK("http://evil")']
    assert len(_csv(client.get(url, PERIOD))) == 6  # the undo is an action too


def test_investigation_export_matches_the_history(client, manager, world):
    client.force_login(manager)
    url = reverse("investigations:report_export", args=["investigations"])
    rows = _csv(client.get(url, {**PERIOD, "detector": "suspicious_inbox_rule"}))
    assert [int(row["id"]) for row in rows] == [world.investigations["i1"].pk]
    assert (rows[0]["alerts"], rows[0]["actions"], rows[0]["verdict"]) == ("2", "5", "compromised")
    assert len(_csv(client.get(url, PERIOD))) == 2  # closed ones only


def test_export_refuses_invalid_filters(client, manager, db):
    client.force_login(manager)
    response = client.get(reverse("investigations:report_export", args=["alerts"]), {"severity": "apocalyptic"})
    assert response.status_code == 400
    assert b"severity" in response.content


def test_unknown_dataset_is_404(client, manager, db):
    client.force_login(manager)
    assert client.get(reverse("investigations:report_export", args=["passwords"])).status_code == 404

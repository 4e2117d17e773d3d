"""``manage.py ingest``: file formats, gzip, summary, and streaming."""

import csv
import gzip
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from alerts.ingest.readers import file_records
from alerts.models import Event
from tests.alerts.support.ingest import audit_logon, dataset_path, graph_signin

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out, err = StringIO(), StringIO()
    call_command("ingest", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_ndjson_array_and_gzip_files_are_ingested_with_a_summary(tmp_path):
    (tmp_path / "a.ndjson").write_text(json.dumps(audit_logon("r1")) + "\n" + json.dumps(audit_logon("r2")) + "\n")
    (tmp_path / "b.json").write_text(json.dumps([audit_logon("r3")], indent=2))
    (tmp_path / "c.json.gz").write_bytes(gzip.compress(json.dumps([audit_logon("r1"), audit_logon("r4")]).encode()))
    output = run("--source", "o365-audit", *(str(tmp_path / name) for name in ("a.ndjson", "b.json", "c.json.gz")))
    assert "a.ndjson: received 2, created 2, duplicates 0, rejected 0" in output
    assert "c.json.gz: received 2, created 1, duplicates 1, rejected 0" in output
    assert "Total: received 5, created 4, duplicates 1, rejected 0" in output
    assert Event.objects.count() == 4


def test_a_pretty_printed_graph_page_and_a_one_line_ndjson_json_file(tmp_path):
    (tmp_path / "page.json").write_text(json.dumps({"value": [graph_signin("s1"), graph_signin("s2")]}, indent=2))
    (tmp_path / "lines.json").write_text(json.dumps(graph_signin("s3")) + "\n" + json.dumps(graph_signin("s4")) + "\n")
    output = run("--source", "entra-signins", str(tmp_path / "page.json"), str(tmp_path / "lines.json"))
    assert "Total: received 4, created 4" in output


def test_a_purview_csv_export_is_read_from_its_audit_data_column(tmp_path):
    path = tmp_path / "AuditLog_2024.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["RecordId", "CreationDate", "RecordType", "Operation", "UserId", "AuditData"])
        writer.writerow(
            ["r1", "3/1/2024 10:00:00 AM", "15", "UserLoggedIn", "megan@contoso.com", json.dumps(audit_logon("r1"))]
        )
        writer.writerow(["r2", "3/1/2024 10:00:00 AM", "15", "UserLoggedIn", "megan@contoso.com", "{broken"])
    output = run("--source", "o365-audit", str(path))
    assert "received 2, created 1, duplicates 0, rejected 1" in output
    assert "record 1: line 3: AuditData is not valid JSON" in output


def test_the_msticpy_sentinel_csv_is_read_row_by_row():
    output = run("--source", "o365-audit", str(dataset_path("msticpy/demo_exchange_data_subset.csv")))
    assert "received 144" in output
    assert Event.objects.exists()


def test_a_missing_file_or_an_unreadable_one_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run("--source", "o365-audit", str(tmp_path / "nope.json"))
    (tmp_path / "bad.json").write_text("[{]")
    with pytest.raises(CommandError, match="not valid JSON"):
        run("--source", "o365-audit", str(tmp_path / "bad.json"))


def test_files_are_streamed_not_loaded(tmp_path):
    path = tmp_path / "big.ndjson"
    with path.open("w") as handle:
        for n in range(20000):
            handle.write(json.dumps(audit_logon(f"r{n}")) + "\n")
    read = []
    records = file_records(path, on_read=read.append)
    next(records)
    assert sum(read) < path.stat().st_size / 4
    records.close()

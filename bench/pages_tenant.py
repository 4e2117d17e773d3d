"""The large tenant behind ``bench/pages.py``, bulk-loaded with PostgreSQL's COPY.

Identities, events in time order (one heavy user with 50,000), alerts with the events they rest
on, investigations with their alerts, findings (and events), actions and log steps; shapes and
proportions follow what the demo tenant and the playbook produce. Runs inside Django (after
``django.setup()``) on a database ``bench/pages.py`` created for it.
"""

import csv
import io
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

DOMAIN = "bench-pages.invalid"
HEAVY_UPN = f"heavy.user@{DOMAIN}"
CITIES = [
    ("Seattle", "US", 47.61, -122.33),
    ("New York", "US", 40.71, -74.0),
    ("London", "GB", 51.51, -0.13),
    ("Paris", "FR", 48.86, 2.35),
    ("Frankfurt am Main", "DE", 50.11, 8.68),
    ("Madrid", "ES", 40.42, -3.7),
    ("Toronto", "CA", 43.65, -79.38),
    ("Sydney", "AU", -33.87, 151.21),
    ("Singapore", "SG", 1.35, 103.82),
    ("Tokyo", "JP", 35.68, 139.69),
    ("Lagos", "NG", 6.52, 3.38),
    ("Moscow", "RU", 55.76, 37.62),
    ("São Paulo", "BR", -23.55, -46.63),
    ("Mumbai", "IN", 19.08, 72.88),
]
SUBJECTS = [
    "Quarterly report",
    "Invoice {n} overdue",
    "Updated remittance details - action required",
    "Team lunch",
    "Project plan v{n}",
    "Re: contract review",
    "Your password expires soon",
    "Weekly sync notes",
    "Purchase order {n}",
    "Shared document: budget {n}",
]
KINDS = [
    ("signin", 40),
    ("signin_failed", 5),
    ("mail_sent", 30),
    ("mail_received", 12),
    ("mail_items_accessed", 9),
    ("inbox_rule_created", 1),
    ("mailbox_permission_added", 1),
    ("mfa_method_changed", 1),
    ("other", 1),
]


class Copier:
    """COPY rows into a model's table; unspecified columns get the field's default."""

    def __init__(self, model, chunk: int = 100_000):
        from django.db.models import JSONField

        self.model = model
        self.fields = [f for f in model._meta.concrete_fields]
        self.json = {f.column for f in self.fields if isinstance(f, JSONField)}
        self.defaults = {f.column: f.get_default() for f in self.fields}
        self.columns = [f.column for f in self.fields]
        self.chunk = chunk
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)
        self.pending = 0
        self.count = 0

    def _cell(self, column, value):
        if value is None:
            return r"\N"
        if column in self.json:
            return json.dumps(value)
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, datetime):
            return value.isoformat()
        return value

    def add(self, **row) -> None:
        values = [self._cell(c, row[c] if c in row else self.defaults[c]) for c in self.columns]
        self.writer.writerow(values)
        self.pending += 1
        if self.pending >= self.chunk:
            self.flush()

    def flush(self) -> None:
        from django.db import connection

        if not self.pending:
            return
        self.buffer.seek(0)
        table = self.model._meta.db_table
        columns = ", ".join(f'"{c}"' for c in self.columns)
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", self.buffer)
        self.count += self.pending
        self.pending = 0
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)


class IndexesDropped:
    """Drop a table's secondary indexes while bulk-loading it and rebuild them after (much faster
    than maintaining them row by row, the GIN trigram indexes above all)."""

    def __init__(self, table: str):
        self.table = table

    def __enter__(self):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
                "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                [self.table, self.table],
            )
            self.indexes = cursor.fetchall()
            for name, _ in self.indexes:
                cursor.execute(f'DROP INDEX "{name}"')
        return self

    def __exit__(self, *exc):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the deferred FK checks before indexing
            for _, definition in self.indexes:
                # A partitioned table's index reads "ON ONLY <table>": re-created on every partition.
                cursor.execute(definition.replace(" ON ONLY ", " ON "))


class Tenant:
    """What one loading step hands the next: ids per identity, the time span, the analysts."""

    def __init__(self, args):
        self.args = args
        self.rng = random.Random(7)
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.start = self.now - timedelta(days=90)
        self.homes: dict[int, int] = {}
        self.events_of: dict[int, list[int]] = {}
        self.alerts_of: dict[int, list[int]] = {}
        self.analysts: list[int] = []


def load(args, log) -> list[int]:
    """Load the tenant; the ids of the bench analysts (users with the analyst role)."""
    from django.db import connection, transaction

    tenant = Tenant(args)
    for step in (_analysts, _identities, _events, _alerts, _investigations, _sequences):
        started = time.perf_counter()
        with transaction.atomic():  # deferred foreign keys are checked once, at commit
            summary = step(tenant)
        log(f"{summary} in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with connection.cursor() as cursor:  # outside a transaction: what autovacuum does to a live database
        cursor.execute("VACUUM ANALYZE")
    log(f"vacuum analyze in {time.perf_counter() - started:.1f} s")
    return tenant.analysts


def _analysts(tenant: Tenant) -> str:
    from django.contrib.auth import get_user_model

    from airportal.roles import Role
    from airportal.services import user_set_role

    for n in range(5):
        user = get_user_model().objects.create_user(f"bench-analyst-{n}", password=None)
        user_set_role(user=user, role=Role.ANALYST)
        tenant.analysts.append(user.pk)
    return f"analysts: {len(tenant.analysts)}"


def _identities(tenant: Tenant) -> str:
    from alerts.models import Identity

    rng, identities = tenant.rng, Copier(Identity)
    for n in range(1, tenant.args.identities + 1):
        tenant.homes[n] = rng.randrange(len(CITIES) - 4)  # the attackers' cities are nobody's home
        identities.add(
            id=n,
            upn=HEAVY_UPN if n == 1 else f"user{n:05d}@{DOMAIN}",
            display_name=f"Bench User {n}",
            department=rng.choice(["Finance", "Sales", "Engineering", "Legal", "Support"]),
            is_vip=rng.random() < 0.02,
            risk_score=rng.randrange(100),
            first_seen_at=tenant.start,
            last_seen_at=tenant.now,
            created_at=tenant.start,
        )
    identities.flush()
    return f"identities: {identities.count:,}"


def _event_row(tenant: Tenant, n: int, at: datetime, identity: int, kind: str) -> dict:
    rng = tenant.rng
    row = {
        "id": n,
        "identity_id": identity,
        "occurred_at": at,
        "kind": kind,
        "operation": kind,
        "source": "bench",
        "source_record_id": f"e{n}",
        "ingested_at": at,
        "raw": {"Id": f"e{n}", "Operation": kind, "CreationTime": at.isoformat()},
    }
    if kind.startswith("signin"):
        city = CITIES[tenant.homes[identity] if rng.random() < 0.97 else rng.randrange(len(CITIES))]
        row.update(
            ip=f"10.{identity % 250}.{(identity // 250) % 250}.{rng.randint(1, 4)}",
            city=city[0],
            country=city[1],
            latitude=city[2],
            longitude=city[3],
            app="Office 365 Exchange Online",
            user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
            succeeded=kind == "signin",
        )
    elif kind.startswith("mail"):
        row.update(
            subject=rng.choice(SUBJECTS).format(n=rng.randint(1000, 99999)),
            target=f"contact{rng.randint(1, 50000)}@partner{rng.randint(1, 500)}.example",
        )
    elif kind == "inbox_rule_created":
        row.update(target=rng.choice(["..", "Invoices", "RSS cleanup", "Move to archive"]))
    return row


def _events(tenant: Tenant) -> str:
    """Events in time order, as ingest stores them; the heavy user has 50,000 in the last 60 days."""
    from alerts.models import Event
    from alerts.partitions import event_partitions_ensure

    rng, args = tenant.rng, tenant.args
    event_partitions_ensure(since=tenant.start)  # PostgreSQL: the 90 days get their monthly partitions
    heavy = min(50_000, args.events // 4)
    span = 90 * 86400
    moments = [
        (tenant.start + timedelta(seconds=rng.uniform(0, span)), rng.randint(2, args.identities))
        for _ in range(args.events - heavy)
    ]
    moments += [(tenant.now - timedelta(seconds=rng.uniform(0, 60 * 86400)), 1) for _ in range(heavy)]
    moments.sort()
    kinds = [kind for kind, weight in KINDS for _ in range(weight)]
    events = Copier(Event)
    with IndexesDropped(Event._meta.db_table):
        for n, (at, identity) in enumerate(moments, start=1):
            events.add(**_event_row(tenant, n, at, identity, rng.choice(kinds)))
            tenant.events_of.setdefault(identity, []).append(n)
        events.flush()
    return f"events: {events.count:,} ({heavy:,} for {HEAVY_UPN}), indexes rebuilt"


def _alerts(tenant: Tenant) -> str:
    from alerts.detectors.registry import DETECTORS
    from alerts.models import Alert

    rng, args = tenant.rng, tenant.args
    alerts, alert_events = Copier(Alert), Copier(Alert.events.through)
    severities = ["high"] * 2 + ["medium"] * 4 + ["low"] * 3 + ["informational"]
    moments = sorted(tenant.start + timedelta(seconds=rng.uniform(0, 90 * 86400)) for _ in range(args.alerts))
    with IndexesDropped(Alert._meta.db_table):
        for n, created in enumerate(moments, start=1):
            identity = 1 if n % (args.alerts // 300 or 1) == 0 else rng.randint(2, args.identities)
            roll = rng.random()
            if tenant.now - created < timedelta(days=2) or roll < 0.1:
                status = "new"
            elif roll < 0.15:
                status = "in_progress"
            else:
                status = "resolved" if roll < 0.75 else "dismissed"
            closed = status in ("resolved", "dismissed")
            detector = rng.choice(list(DETECTORS))
            alerts.add(
                id=n,
                detector=detector,
                identity_id=identity,
                title=detector.replace("_", " ").capitalize() + f" ({rng.randint(1, 999)})",
                description="Bench alert.",
                evidence={"count": rng.randint(1, 500), "threshold": 100},
                severity=rng.choice(severities),
                status=status,
                classification=rng.choice(["true_positive", "false_positive", "benign_positive"]) if closed else "",
                assignee_id=rng.choice(tenant.analysts) if status != "new" else None,
                dedup_key=f"b{n}",
                event_count=1,
                first_activity_at=created - timedelta(minutes=rng.randint(1, 120)),
                last_activity_at=created,
                created_at=created,
                updated_at=created,
                acknowledged_at=created + timedelta(minutes=30) if status != "new" else None,
                closed_at=created + timedelta(hours=2) if closed else None,
            )
            if tenant.events_of.get(identity):
                alert_events.add(id=n, alert_id=n, event_id=rng.choice(tenant.events_of[identity]))
            tenant.alerts_of.setdefault(identity, []).append(n)
        alerts.flush()
    alert_events.flush()
    return f"alerts: {alerts.count:,}"


class _Counter:
    def __init__(self):
        self.value = 0

    def next(self) -> int:
        self.value += 1
        return self.value


def _investigations(tenant: Tenant) -> str:
    """Investigations, the first 1,000 open (on distinct identities: one open per identity)."""
    from investigations.models import Action, Finding, Investigation, InvestigationStep

    rng, args = tenant.rng, tenant.args
    copiers = {
        "investigations": Copier(Investigation),
        "links": Copier(Investigation.alerts.through),
        "findings": Copier(Finding),
        "finding_events": Copier(Finding.events.through),
        "actions": Copier(Action),
        "steps": Copier(InvestigationStep),
    }
    ids = {name: _Counter() for name in copiers}
    closed = ["remediated", "no_threats_found", "partially_remediated", "failed", "terminated"]
    open_count = min(1000, args.investigations // 10)
    for n in range(1, args.investigations + 1):
        is_open = n <= open_count
        identity = n if is_open else rng.randint(1, args.identities)
        if is_open:
            created = tenant.now - timedelta(hours=rng.uniform(1, 48))
        else:
            created = tenant.start + timedelta(days=rng.uniform(0, 88))
        copiers["investigations"].add(
            id=n,
            identity_id=identity,
            status=rng.choice(["pending_action"] * 8 + ["running", "queued"]) if is_open else rng.choice(closed),
            verdict=rng.choice(["compromised", "suspicious", "clean"]),
            risk_score=rng.randrange(100),
            summary="Bench investigation: the playbook's explanation of its verdict would be here.",
            created_at=created,
            queued_at=created,
            started_at=created,
            finished_at=None if is_open else created + timedelta(hours=1),
            updated_at=created,
            window_start=created - timedelta(days=3),
            window_end=created,
            run_count=1,
        )
        alerts = tenant.alerts_of.get(identity) or [1]
        for alert_id in rng.sample(alerts, min(5, len(alerts))):
            copiers["links"].add(id=ids["links"].next(), investigation_id=n, alert_id=alert_id)
        events = tenant.events_of.get(identity) or [1]
        for check in ("signins.new_country", "inbox_rules", "forwarding", "sending_volume", "mfa"):
            finding = ids["findings"].next()
            copiers["findings"].add(
                id=finding,
                investigation_id=n,
                check_key=check,
                title=check.replace("_", " ").capitalize(),
                verdict=rng.choice(["malicious", "suspicious", "clean", "clean"]),
                explanation="Bench finding.",
                created_at=created,
            )
            for event_id in rng.sample(events, min(2, len(events))):
                copiers["finding_events"].add(id=ids["finding_events"].next(), finding_id=finding, event_id=event_id)
        for kind in rng.sample(list(Action.Kind.values), 3):
            copiers["actions"].add(**_action_row(tenant, ids["actions"].next(), n, identity, kind, created, is_open))
        for step in range(10):
            copiers["steps"].add(
                id=ids["steps"].next(),
                investigation_id=n,
                at=created + timedelta(seconds=step),
                level="info",
                message=f"Bench step {step}.",
            )
    for copier in copiers.values():
        copier.flush()
    counts = {name: copier.count for name, copier in copiers.items()}
    return (
        f"investigations: {counts['investigations']:,} with {counts['links']:,} alert links, "
        f"{counts['findings']:,} findings, {counts['actions']:,} actions, {counts['steps']:,} steps"
    )


def _action_row(tenant: Tenant, action_id: int, investigation: int, identity: int, kind, created, is_open) -> dict:
    rng = tenant.rng
    status = "pending_approval" if is_open else rng.choice(["succeeded", "succeeded", "rejected", "failed", "undone"])
    decided, approved = not is_open, not is_open and status != "rejected"
    return {
        "id": action_id,
        "investigation_id": investigation,
        "identity_id": identity,
        "kind": kind,
        "target": f"user{identity:05d}@{DOMAIN}",
        "reason": "Bench proposal.",
        "impact": "high" if kind in ("reset_password", "disable_account") else "low",
        "status": status,
        "requires_second_approval": kind in ("reset_password", "disable_account"),
        "approved_by_id": rng.choice(tenant.analysts) if approved else None,
        "approved_at": created + timedelta(minutes=20) if approved else None,
        "rejected_by_id": rng.choice(tenant.analysts) if status == "rejected" else None,
        "rejected_at": created + timedelta(minutes=20) if status == "rejected" else None,
        "decision_comment": "Bench decision." if decided else "",
        "idempotency_key": uuid.UUID(int=rng.getrandbits(128)).hex,
        "connector": "simulated" if decided else "",
        "result": {"detail": "Done by the simulated tenant."} if status == "succeeded" else {},
        "error": "403: missing permission" if status == "failed" else "",
        "created_at": created,
        "finished_at": created + timedelta(minutes=21) if decided else None,
    }


def _sequences(tenant: Tenant) -> str:
    """Sequences past the loaded ids, so the app can insert."""
    from django.db import connection

    from alerts.models import Alert, Event, Identity
    from investigations.models import Action, Finding, Investigation, InvestigationStep

    models = [Identity, Event, Alert, Investigation, Finding, Action, InvestigationStep]
    models += [Alert.events.through, Investigation.alerts.through, Finding.events.through]
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT max(id) FROM {table}), 1))"
            )
    return "sequences"

"""Policy back-test speed on a month of a large tenant: 1,000,000 events over 30 days.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/air_h2 .venv/bin/python bench/backtest.py [--events 1000000]

Creates a scratch database next to the one ``DATABASE_URL`` names (dropped at the end), migrates
it, COPYs in N events of 10,000 identities over 30 days (sign-ins with places and some failures,
mail with recipients, rules, MFA changes, consents, external alerts, a few attacks) and their
baselines, then times ``policy_backtest`` of every policy with a changed parameter, as the
Policies page runs it. As the database's own raw speed it times one scan of the month
(``count(*)`` of the events since the start) and prints each back-test's ratio to it. Target:
under 3 s per back-test.
"""

import argparse
import io
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
IDENTITIES = 10_000
DAYS = 30
CITIES = [
    ("Seattle", "US", 47.61, -122.33),
    ("New York", "US", 40.71, -74.01),
    ("London", "GB", 51.51, -0.13),
    ("Berlin", "DE", 52.52, 13.40),
    ("Paris", "FR", 48.86, 2.35),
    ("Madrid", "ES", 40.42, -3.70),
]
NULL = "\\N"
COLUMNS = (
    "identity_id, occurred_at, kind, operation, source, source_record_id, ip, country, city, latitude, longitude, "
    "succeeded, subject, target, attributes, raw, ingested_at, app, user_agent"
)
CHANGES = {  # the parameter an admin would try on each policy
    "suspicious_signin": {"travel_max_kmh": 1000, "check_legacy_protocols": False},
    "suspicious_email_sending": {"min_recipients": 200, "baseline_multiplier": 5},
    "sending_limit_exceeded": {"external_per_hour": 300},
    "external_forwarding": {"allowed_domains": ["partner.example"]},
    "suspicious_inbox_rule": {"min_score": 4},
    "mailbox_permission_added": {"alert_on_owner_grant": False},
    "mfa_method_changed": {"window_hours": 6},
    "oauth_app_consent": {"trusted_apps": ["Contoso CRM"]},
    "external_alert": {"min_severity": "medium"},
}


def scratch_url(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


def generate(
    count: int, identity_ids: list[int], upns: dict[int, str], start: datetime, daily: dict, home: dict, seed: int = 5
):
    """Yield COPY text lines of events, in ``COLUMNS`` order; count recipients per identity and day in ``daily``."""
    rng = random.Random(seed)
    loaded_at = datetime.now(UTC).isoformat()
    step = DAYS * 86400 / count
    for n in range(count):
        identity = rng.choice(identity_ids)
        upn = upns[identity]
        at = start + timedelta(seconds=n * step + rng.random())
        draw = rng.random()
        city, country, lat, lon = CITIES[home[identity]]
        ip = f"20.{home[identity] + 10}.{identity % 250}.{rng.randint(2, 250)}"
        fields = {"kind": "signin", "succeeded": "t", "subject": "", "target": "", "attributes": {}}
        if draw < 0.50:
            if rng.random() < 0.01:  # now and then a trip or an attacker
                city, country, lat, lon = CITIES[rng.randrange(len(CITIES))]
                ip = f"95.173.{rng.randint(0, 255)}.{rng.randint(2, 250)}"
            risk = "high" if rng.random() < 0.001 else "none"
            client = "IMAP4" if rng.random() < 0.002 else "Browser"
            fields["attributes"] = {
                "risk_level": risk,
                "risk_state": "atRisk" if risk == "high" else "none",
                "client_app": client,
            }
        elif draw < 0.55:
            fields.update(kind="signin_failed", succeeded="f")
            if rng.random() < 0.2:
                ip = f"185.220.101.{rng.randint(2, 20)}"
        elif draw < 0.97:
            recipients = [
                upns[rng.choice(identity_ids)] if rng.random() < 0.7 else f"x{rng.randint(1, 900)}@fabrikam.com"
                for _ in range(rng.randint(1, 4))
            ]
            fields.update(
                kind="mail_sent", succeeded="", subject=rng.choice(["Sync", "Q4", "Lunch"]), target=recipients[0]
            )
            fields["attributes"] = {"recipients": recipients, "message_id": f"<{n}@bench>"}
            day = daily.setdefault(identity, {})
            day[at.date().isoformat()] = day.get(at.date().isoformat(), 0) + len(recipients)
            lat = lon = None
            city = country = ""
        else:
            kind = rng.choice(
                [
                    "inbox_rule_created",
                    "mfa_method_changed",
                    "oauth_consent",
                    "external_alert",
                    "mailbox_permission_added",
                ]
            )
            fields.update(kind=kind, succeeded="")
            if kind == "inbox_rule_created":
                fields["attributes"] = {
                    "rule": {
                        "name": "r",
                        "move_to_folder": rng.choice(["Archive", "RSS Feeds", "News"]),
                        "mark_as_read": rng.random() < 0.5,
                    }
                }
            elif kind == "oauth_consent":
                fields["attributes"] = {
                    "scopes": rng.choice([["User.Read"], ["Mail.Read", "offline_access"]]),
                    "app_display_name": rng.choice(["Contoso CRM", "Mail Sync"]),
                }
            elif kind == "external_alert":
                fields["attributes"] = {
                    "alert_id": f"a{n}",
                    "severity": rng.choice(["low", "medium", "high"]),
                    "status": "new",
                    "title": "x",
                }
            elif kind == "mailbox_permission_added":
                fields["attributes"] = {
                    "mailbox": upn,
                    "delegate": upns[rng.choice(identity_ids)],
                    "access_rights": ["FullAccess"],
                    "actor": upn,
                }
        values = [
            str(identity),
            at.isoformat(),
            fields["kind"],
            "",
            "bench",
            uuid.UUID(int=rng.getrandbits(128)).hex,
            ip,
            country,
            city,
            NULL if lat is None else str(lat),
            NULL if lon is None else str(lon),
            fields["succeeded"] or NULL,
            fields["subject"],
            fields["target"],
            json.dumps(fields["attributes"]).replace("\\", "\\\\"),
            "{}",
            loaded_at,
            "",
            "",
        ]
        yield "\t".join(values) + "\n"
    for identity in identity_ids[:5]:  # newsletter mailboxes: 800 recipients a day, every day
        for day in range(DAYS):
            for wave in range(8):
                at = start + timedelta(days=day, hours=8 + wave)
                recipients = [f"c{wave}{i}@example.org" for i in range(100)]
                bucket = daily.setdefault(identity, {})
                bucket[at.date().isoformat()] = bucket.get(at.date().isoformat(), 0) + len(recipients)
                attributes = json.dumps(
                    {"recipients": recipients, "message_id": f"<news-{identity}-{day}-{wave}@bench>"}
                )
                values = [
                    str(identity),
                    at.isoformat(),
                    "mail_sent",
                    "",
                    "bench",
                    uuid.uuid4().hex,
                    NULL,
                    "",
                    "",
                    NULL,
                    NULL,
                    NULL,
                    "Deals",
                    recipients[0],
                    attributes,
                    "{}",
                    loaded_at,
                    "",
                    "",
                ]
                yield "\t".join(values) + "\n"


def copy_events(connection, lines, batch: int = 100_000) -> int:
    """COPY the generated lines into the events table, ``batch`` rows at a time."""
    total = 0
    chunk: list[str] = []
    with connection.cursor() as cursor:
        for line in lines:
            chunk.append(line)
            total += 1
            if len(chunk) == batch:
                cursor.copy_expert(f"COPY alerts_event ({COLUMNS}) FROM STDIN", io.StringIO("".join(chunk)))
                chunk = []
        if chunk:
            cursor.copy_expert(f"COPY alerts_event ({COLUMNS}) FROM STDIN", io.StringIO("".join(chunk)))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("bench/backtest.py needs PostgreSQL: set DATABASE_URL=postgres://…")
    import psycopg2

    name = f"{urlparse(url).path.lstrip('/') or 'airportal'}_backtest_bench"
    admin = psycopg2.connect(scratch_url(url, "postgres"))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(
        {
            "DATABASE_URL": scratch_url(url, name),
            "DJANGO_SETTINGS_MODULE": "airportal.settings",
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + uuid.uuid4().hex,
            "ALLOWED_HOSTS": "localhost",
            "LOG_LEVEL": "WARNING",
        }
    )
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def run(args) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from alerts.backtest import policy_backtest
    from alerts.models import AlertPolicy, Identity, IdentityBaseline

    call_command("migrate", verbosity=0)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=DAYS)
    Identity.objects.bulk_create(Identity(upn=f"user{n:05d}@contoso.com") for n in range(IDENTITIES))
    upns = dict(Identity.objects.values_list("id", "upn"))
    started = time.perf_counter()
    daily: dict[int, dict[str, int]] = {}
    home = {identity_id: random.Random(identity_id).randrange(len(CITIES)) for identity_id in upns}
    count = copy_events(connection, generate(args.events, sorted(upns), upns, start, daily, home))
    print(
        f"loaded {count} events of {len(upns)} identities over {DAYS} days in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    rng = random.Random(3)
    IdentityBaseline.objects.bulk_create(
        IdentityBaseline(
            identity_id=identity_id,
            first_activity_at=start - timedelta(days=60),
            daily_recipients=daily.get(identity_id, {}),
            countries={
                CITIES[home[identity_id]][1]: [int((start - timedelta(days=60)).timestamp()), int(now.timestamp())]
            }
            | (
                {"GB": [int((start + timedelta(days=rng.randint(0, 29))).timestamp())] * 2}
                if rng.random() < 0.05
                else {}
            ),
        )
        for identity_id in upns
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE alerts_event")
        started = time.perf_counter()
        cursor.execute("SELECT count(*) FROM alerts_event WHERE occurred_at >= %s", [start])
        cursor.fetchone()
        scan = time.perf_counter() - started
    print(f"raw speed: one count(*) over the month's events: {scan:.2f} s", flush=True)
    worst = 0.0
    for policy in AlertPolicy.objects.order_by("detector"):
        started = time.perf_counter()
        result = policy_backtest(policy=policy, parameters=CHANGES[policy.detector], days=DAYS, now=now)
        seconds = time.perf_counter() - started
        worst = max(worst, seconds)
        print(
            f"  {policy.detector:<26} {seconds:5.2f} s ({seconds / scan:4.1f}x a scan): "
            f"current {result.current_total}, proposed {result.proposed_total} alerts",
            flush=True,
        )
    print(f"backtest: {args.events} events, slowest policy {worst:.2f} s (target 3 s), raw scan {scan:.2f} s")


if __name__ == "__main__":
    main()

"""Console reads on a PostgreSQL streaming replica (optional: ``DATABASE_REPLICA_URL``).

What reads from the replica is decided per request, by ``ReplicaReadMiddleware``: a GET or HEAD
of one of ``REPLICA_VIEWS`` (list pages, search, timelines, reports, exports; named by their URL
names, so no view knows about it), from a browser that has not written in the last
``DATABASE_REPLICA_PIN_SECONDS``. Everything else uses the primary: every write (the router sends
all writes to ``default``), every POST and API call, detail pages (they are where an analyst acts),
Celery tasks and commands (no request: the default is the primary), reads inside a transaction on
the primary, and the models of sign-in and sessions.

Read-after-write: a request that may have written (any method but GET/HEAD/OPTIONS) answers with
the cookie ``REPLICA_PIN_COOKIE`` holding the time until which this browser reads from the
primary, so the page after a POST shows the POST's effect even while the replica lags. The cookie
only ever sends its holder to the primary; dropping it costs the holder read-after-write, nobody
else anything.
"""

import time
from contextvars import ContextVar

from django.conf import settings
from django.db import connections

REPLICA = "replica"
REPLICA_PIN_COOKIE = "air_primary_until"
REPLICA_VIEWS = frozenset(
    {
        "dashboard",
        "alerts:alert_list",
        "alerts:search",
        "identity_timeline",
        "investigations:investigation_list",
        "investigations:action_history_csv",
        "investigations:investigation_log_csv",
        "investigations:reports",
        "investigations:report_history",
        "investigations:report_metrics",
        "investigations:report_export",
        "audit_list",
        "audit_export",
    }
)
# Read from the primary always: who is signed in, and the rows a GET may create on first use.
PRIMARY_APPS = frozenset({"auth", "sessions", "contenttypes", "django_celery_beat"})
PRIMARY_MODELS = frozenset({"airportal.apitoken", "airportal.portalsettings", "airportal.workerheartbeat"})

_read_replica: ContextVar[bool] = ContextVar("air_read_replica", default=False)


class ReplicaRouter:
    """Reads go to the replica only while a request allowed it (see the module's docstring)."""

    def db_for_read(self, model, **hints):
        if not _read_replica.get() or REPLICA not in connections.settings:
            return "default"
        if model._meta.app_label in PRIMARY_APPS or model._meta.label_lower in PRIMARY_MODELS:
            return "default"
        if connections["default"].in_atomic_block:  # read-modify-write: read what will be written
            return "default"
        return REPLICA

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the primary's rows: an object read there is the same row

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


def _pinned_until(request) -> float:
    try:
        return float(request.COOKIES.get(REPLICA_PIN_COOKIE, "0"))
    except ValueError:
        return 0.0


class ReplicaReadMiddleware:
    """Lets the router read from the replica during the requests it may, and pins a browser to
    the primary for a few seconds after it writes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _read_replica.set(False)
        try:
            response = self.get_response(request)
        finally:
            replica = _read_replica.get()
            _read_replica.reset(token)
        if request.method not in ("GET", "HEAD", "OPTIONS") and REPLICA in connections.settings:
            until = time.time() + settings.DATABASE_REPLICA_PIN_SECONDS
            response.set_cookie(
                REPLICA_PIN_COOKIE,
                f"{until:.3f}",
                max_age=settings.DATABASE_REPLICA_PIN_SECONDS,
                httponly=True,
                samesite="Lax",
                secure=not settings.DEBUG,
            )
        if replica and response.streaming:
            response.streaming_content = _on_replica(response.streaming_content)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if (
            REPLICA in connections.settings
            and request.method in ("GET", "HEAD")
            and request.resolver_match.view_name in REPLICA_VIEWS
            and _pinned_until(request) < time.time()
        ):
            _read_replica.set(True)


def _on_replica(chunks):
    """A streamed export is read while the response is sent, after the middleware returned."""
    _read_replica.set(True)
    try:
        yield from chunks
    finally:
        _read_replica.set(False)

"""A local HTTP receiver standing in for Slack / Teams / a SIEM, and rule helpers."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from investigations.models import NotificationEvent, NotificationRule
from investigations.notifications.services import notification_rule_create


class Receiver:
    """Records every POST; answers the scripted statuses first, then 200."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    status, headers = receiver.script.pop(0) if receiver.script else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/secret-path"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def fail_next(self, *statuses: int, headers: dict | None = None):
        self.script.extend((status, headers or {}) for status in statuses)

    def bodies(self) -> list[dict]:
        return [json.loads(request["body"]) for request in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    instance = Receiver()
    yield instance
    instance.close()


@pytest.fixture
def webhook_rule(db, admin_user, receiver):
    """A generic-JSON webhook rule to the local receiver (an admin allowed its private address)."""

    def make(**fields):
        defaults = {
            "name": "SOC webhook",
            "channel": NotificationRule.Channel.WEBHOOK,
            "format": NotificationRule.Format.GENERIC,
            "url": receiver.url,
            "allow_private": True,
            "events": [event for event in NotificationEvent.values if event != NotificationEvent.TEST],
            "secret_headers": {"Authorization": "Bearer hook-secret-123"},
        }
        return notification_rule_create(actor=admin_user, **{**defaults, **fields})

    return make


@pytest.fixture(autouse=True)
def celery_handles_retries_eagerly():
    """Let eager Celery run ``self.retry()`` as a worker would (re-run the task) instead of raising Retry.

    The suite propagates eager task exceptions (CELERY_TASK_EAGER_PROPAGATES); Celery then raises
    the Retry semi-predicate instead of applying it, so the retry path would not run at all.
    """
    from airportal.celery import app

    previous = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = previous

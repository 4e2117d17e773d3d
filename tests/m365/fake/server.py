"""HTTPS plumbing of the fake: one threaded server per service, a shared state, scripted faults."""

import base64
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SERVICES = ("login", "graph", "manage", "exchange")


@dataclass
class Request:
    service: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    service: str
    method: str
    path_contains: str
    response: Response
    remaining: int
    after: int = 0  # matching requests to let through first
    query: dict[str, str] = field(default_factory=dict)  # query parameters a matching request carries
    applied: bool = False  # the request takes effect and only its reply is this (a reply lost on the way)


@dataclass
class Throttle:
    """Opt-in throttling of one route family: every ``every``-th call is refused with 429 (and
    ``Retry-After`` when set); until that time has passed, every call of the family is refused too."""

    every: int
    retry_after: float | None
    calls: int = 0
    until: float = 0.0  # time.monotonic() before which the family stays throttled
    refused: int = 0
    early: int = 0  # calls that came back before Retry-After had passed

    def refuses(self) -> bool:
        moment = time.monotonic()
        if moment < self.until:
            self.early += 1
            self.refused += 1
            return True
        self.calls += 1
        if self.calls % self.every:
            return False
        self.until = moment + (self.retry_after or 0)
        self.refused += 1
        return True


def error(status: int, code: str, message: str, **extra) -> Response:
    return Response(status, {"error": {"code": code, "message": message, **extra}})


def too_many_requests(code: str, message: str, retry_after: float | None, **extra) -> Response:
    """A 429 with ``Retry-After`` in whole seconds when the service sends one."""
    response = error(429, code, message, **extra)
    if retry_after is not None:
        response.headers["Retry-After"] = str(int(retry_after))
    return response


def make_token(claims: dict) -> str:
    """An access token in JWT form; the fake does not sign it (the connector never verifies it)."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'typ': 'JWT', 'alg': 'none'})}.{part(claims)}.fake"


def read_token(token: str) -> dict | None:
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: "_Server"

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    def _handle(self):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            service=self.server.service,
            method=self.command,
            path=parts.path,
            query={key: values[0] for key, values in parse_qs(parts.query, keep_blank_values=True).items()},
            headers={key.lower(): value for key, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        response = self.server.fake.dispatch(request)
        payload = b"" if response.body is None else json.dumps(response.body).encode()
        self.send_response(response.status)
        if payload:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake, service: str, context: ssl.SSLContext):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake, self.service = fake, service
        self.socket = context.wrap_socket(self.socket, server_side=True)


class FakeServers:
    """Starts one HTTPS server per service; ``url(service)`` is its base URL."""

    def __init__(self, fake, cert_path, key_path):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        self.servers = {service: _Server(fake, service, context) for service in SERVICES}
        self.threads = [
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            for server in self.servers.values()
        ]
        for thread in self.threads:
            thread.start()

    def url(self, service: str) -> str:
        return f"https://127.0.0.1:{self.servers[service].server_address[1]}"

    def stop(self):
        for server in self.servers.values():
            server.shutdown()
            server.server_close()


def now() -> float:
    return time.time()


def iso_now() -> str:
    """Now as Graph writes a dateTimeOffset (``2026-12-05T17:20:00Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

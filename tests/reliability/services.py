"""Private servers for fault injection: a PostgreSQL cluster, a redis-server and the web app.

Reliability tests stop and restart the servers they talk to, so they never touch the shared
PostgreSQL (5432) or Redis (6379) that other test runs use: each fault is injected into an
instance started here, on a spare port, in a temporary directory removed afterwards.
"""

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import ROOT, wait_until

REDIS = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int, ping: bytes = b"", expect: bytes = b"") -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            if not ping:
                return True
            sock.sendall(ping)
            return sock.recv(16).startswith(expect)
    except OSError:
        return False


def rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB (``VmRSS`` of /proc/<pid>/status), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_group(pid: int) -> list[int]:
    """The pids of the process group led by ``pid`` (a gunicorn or celery master and its children)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pid:  # field 5 of stat: the process group id
            members.append(int(entry.name))
    return sorted(members)


def kill_pool_processes(worker) -> None:
    """SIGKILL a Celery worker's pool processes, not its main process (which forks new ones)."""
    main = worker.process.pid
    for pid in process_group(main):
        if pid != main:
            os.kill(pid, 9)


def _test_database():
    """A connection of its own to the test database, outside Django's (and its transactions)."""
    import psycopg2
    from django.db import connection

    db = connection.settings_dict
    return psycopg2.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"])


@contextmanager
def table_locked(table: str):
    """Nobody reads or writes ``table`` of the test database until the block ends."""
    conn = _test_database()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        yield
    finally:
        conn.rollback()
        conn.close()


@contextmanager
def row_locked(table: str, pk: int, mode: str):
    """Another session holds row ``pk`` of ``table`` in ``mode`` (``FOR KEY SHARE``, ``FOR NO KEY
    UPDATE``, ``FOR UPDATE``…) until the block ends."""
    conn = _test_database()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f'SELECT 1 FROM "{table}" WHERE id = %s {mode}', [pk])  # noqa: S608 - test's own names
            assert cursor.fetchone(), f"no row {pk} in {table}"
        yield
    finally:
        conn.rollback()
        conn.close()


@contextmanager
def lock_timeout(milliseconds: int):
    """This test's database session gives up waiting for a lock after ``milliseconds``."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = {int(milliseconds)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")


def waiting_for_a_lock() -> bool:
    """Some session of the test database is waiting for a lock."""
    conn = _test_database()
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return cursor.fetchone()[0] > 0
    finally:
        conn.close()


class PrivateRedis:
    """A redis-server of our own, without persistence: stopping it loses every queued message."""

    def __init__(self, port: int, workdir):
        self.port, self.workdir, self.process = port, str(workdir), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _answers(self.port, b"PING\r\n", b"+PONG"), timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL binaries directory that has initdb and pg_ctl, if any."""
    candidates = sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for candidate in reversed(candidates):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb and shutil.which("pg_ctl") else None


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (fsync off) on a spare port.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` OS
    user and its commands run through ``runuser``.
    """

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="airportal-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self._as = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres", "postgres")

    def url(self, database: str = "airportal") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            [*self._as, *args], cwd=self.dir, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every session is terminated, open transactions roll back."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def create_database(self, name: str = "airportal") -> str:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.url(name)


def app_env(*, database_url: str, broker_url: str, var_dir: str) -> dict[str, str]:
    """The environment of a web or worker process of the app on the given database and broker.

    Production mode (``DEBUG=0``): an error is the short 500 of production, not the debug page
    (which renders every local variable of the failing frames, thousands of records included).
    """
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "reliability-tests-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "AIRPORTAL_VAR_DIR": var_dir,
        "DJANGO_SETTINGS_MODULE": "airportal.settings",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """Run ``manage.py`` with ``env``; its standard output."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed: {done.stdout[-2000:]}{done.stderr[-3000:]}")
    return done.stdout


class WebServer:
    """gunicorn serving the app (one worker process, a few threads) on a spare port."""

    def __init__(self, env: dict[str, str], *, workers: int = 1, threads: int = 4, timeout: int = 120):
        self.env, self.port = env, free_port()
        self.args = ["--workers", str(workers), "--threads", str(threads), "--timeout", str(timeout)]
        self.process = None
        self.log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
        self.log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            [gunicorn, "airportal.wsgi:application", "--bind", f"127.0.0.1:{self.port}", "--no-control-socket"]
            + self.args,
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not _answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: {self.output()[-3000:]}")
            time.sleep(0.2)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace") if self.log else ""

    def worker_pids(self) -> list[int]:
        """The gunicorn worker processes (the master only forks and watches them)."""
        return [pid for pid in process_group(self.process.pid) if pid != self.process.pid]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()

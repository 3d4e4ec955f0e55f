"""The `loupe` command: runs each process, migrations, workspaces and the whole stack for development."""

from __future__ import annotations

import asyncio
import faulthandler
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from loupe.config import Settings, get_settings
from loupe.kit.embedded import EmbeddedUnavailable


class _Typer(typer.Typer):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except EmbeddedUnavailable as exc:
            # Not a bug: the message says what to do, so no traceback.
            sys.stderr.write(f"{exc}\n")
            sys.exit(1)
        except ValidationError as exc:  # bad configuration: a restart would not fix it either
            for error in exc.errors():
                name = "LOUPE_" + "__".join(str(part) for part in error["loc"]).upper()
                sys.stderr.write(f"Invalid configuration: {name}: {error['msg']}\n")
            sys.exit(2)


app = _Typer(help="Loupe: measure influencer marketing.", no_args_is_help=True, add_completion=False)
workspace_app = typer.Typer(help="Workspaces and their API keys.", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
tokens_app = typer.Typer(help="The keys encrypting platform tokens at rest (LOUPE_TOKEN_KEYS).", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")
stats_app = typer.Typer(help="Click and conversion statistics.", no_args_is_help=True)
app.add_typer(stats_app, name="stats")
console = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="LOUPE_DATA_DIR", help="Folder of the embedded PostgreSQL and Redis."),
]


def _settings(data_dir: Path | None) -> Settings:
    if data_dir is not None:
        os.environ["LOUPE_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()
    return get_settings()


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the API.")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
) -> None:
    """Run the api (and the click redirect) with uvicorn."""
    import uvicorn

    from loupe.kit.logging import configure_logging
    from loupe.runtime import resolve_service_urls

    settings = _settings(data_dir)
    configure_logging(settings.log_level, settings.log_json, settings.log_colors)
    # Embedded servers started here are reused by the app's lifespan (and by each uvicorn worker).
    with resolve_service_urls(settings) as (database_url, _):
        _exit_if_schema_behind(database_url)
        uvicorn.run(
            "loupe.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            # The client address is the peer's; a proxy's header is trusted only through
            # LOUPE_TRUSTED_PROXY_HEADER (the redirect records countries from it). Links use public_base_url.
            proxy_headers=False,
            # uvicorn's loggers go through ours; the api logs each request itself (loupe.http).
            log_config=None,
            access_log=False,
        )


def _exit_if_schema_behind(database_url: str) -> None:
    """A schema behind the code ends the process in one sentence: a restart cannot fix it. A PostgreSQL
    that is down is not that: the process starts, answers 503 and says so in /readyz until it is back."""
    import structlog
    from sqlalchemy.ext.asyncio import create_async_engine

    from loupe.kit.migrations import SCHEMA_BEHIND, schema_is_current
    from loupe.kit.outages import outage_of

    async def probe() -> bool:
        engine = create_async_engine(database_url, pool_size=1, connect_args={"timeout": 3})
        try:
            return await asyncio.wait_for(schema_is_current(engine), timeout=5)
        finally:
            await engine.dispose()

    try:
        current = asyncio.run(probe())
    except Exception as exc:
        if outage_of(exc) is None:
            raise
        structlog.get_logger("loupe.cli").warning("schema_unchecked", reason="database unreachable at startup")
        return
    if not current:
        sys.stderr.write(f"{SCHEMA_BEHIND}\n")
        raise typer.Exit(1)


@app.command()
def redirect(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the click redirect.")] = 8001,
    server: Annotated[
        str, typer.Option(help="ASGI server: granian (the default: the faster in bench-redirect) or uvicorn.")
    ] = "granian",
) -> None:
    """Run the click redirect (`/l/{code}`) alone: a small ASGI app, one server process."""
    from loupe.kit.logging import configure_logging
    from loupe.redirect.factory import create_redirect_app, serve_with_granian
    from loupe.runtime import resolve_service_urls

    if server not in ("granian", "uvicorn"):
        raise typer.BadParameter("granian or uvicorn", param_hint="--server")
    settings = _settings(data_dir)
    configure_logging(settings.log_level, settings.log_json, settings.log_colors)
    with resolve_service_urls(settings) as (database_url, redis_url):
        _exit_if_schema_behind(database_url)
        if server == "granian":
            serve_with_granian(host, port, database_url, redis_url)
            return
        import uvicorn

        # The client address comes from LOUPE_TRUSTED_PROXY_HEADER when set, never from uvicorn's guess.
        application = create_redirect_app(settings, database_url, redis_url)
        uvicorn.run(application, host=host, port=port, proxy_headers=False, log_config=None, access_log=False)


@app.command()
def worker(
    data_dir: DataDir = None,
    burst: Annotated[bool, typer.Option(help="Run queued jobs, then exit.")] = False,
    check: Annotated[
        bool, typer.Option(help="Exit 0 if a worker reported healthy recently (and reached PostgreSQL and Redis).")
    ] = False,
) -> None:
    """Run the background worker (arq)."""
    from loupe.kit.logging import configure_logging
    from loupe.runtime import resolve_service_urls
    from loupe.worker import create_worker

    settings = _settings(data_dir)
    configure_logging(settings.log_level, settings.log_json, settings.log_colors)
    if check:
        _check_worker(settings)
    from loupe.kit.migrations import SchemaBehind

    with resolve_service_urls(settings) as (database_url, redis_url):
        try:
            create_worker(settings, database_url, redis_url, burst=burst).run()
        except SchemaBehind as exc:  # what a restart cannot fix ends the process, in one sentence
            sys.stderr.write(f"{exc}\n")
            raise typer.Exit(1) from None


def _check_worker(settings: Settings) -> None:
    """The probe never starts a server: it reads the configured Redis, or the embedded one if it runs."""
    from loupe.kit.embedded import EmbeddedRedis
    from loupe.worker import check_health

    if settings.redis_url is not None:
        redis_url = settings.redis_url.get_secret_value()
    elif (port := EmbeddedRedis(settings.data_dir.resolve()).running_port()) is not None:
        redis_url = EmbeddedRedis(settings.data_dir).url(port)
    else:
        sys.stderr.write(f"unhealthy: the embedded Redis of {settings.data_dir} is not running\n")
        raise typer.Exit(1)
    healthy, message = asyncio.run(check_health(redis_url))
    sys.stderr.write(message + "\n")
    raise typer.Exit(0 if healthy else 1)


@app.command()
def migrate(
    data_dir: DataDir = None,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the database migrations."""
    from loupe.kit.migrations import upgrade
    from loupe.runtime import resolve_service_urls

    settings = _settings(data_dir)
    with resolve_service_urls(settings) as (database_url, _):
        upgrade(database_url, revision)
    console.print(f"database migrated to {revision}")


@app.command()
def openapi(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Print (or write) the OpenAPI contract the api serves."""
    from loupe.app import create_app

    document = json.dumps(create_app().openapi(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(document)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(document)
        console.print(f"wrote {output}")


@workspace_app.command("create")
def workspace_create(
    name: Annotated[str, typer.Argument(help="Workspace name.")],
    data_dir: DataDir = None,
    plan: Annotated[str, typer.Option(help="staging (25 connected accounts at most) or production.")] = "staging",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a workspace and print its id and first API key (shown once)."""
    from loupe.runtime import resolve_service_urls
    from loupe.seed import create_workspace
    from loupe.workspaces.models import Plan

    if plan not in {p.value for p in Plan}:
        raise typer.BadParameter("must be staging or production", param_hint="--plan")
    settings = _settings(data_dir)
    with resolve_service_urls(settings) as (database_url, _):
        if settings.database_url is None:
            from loupe.kit.migrations import upgrade

            upgrade(database_url)
        workspace_id, key = asyncio.run(create_workspace(database_url, name, Plan(plan)))
    if as_json:
        sys.stdout.write(json.dumps({"workspace_id": str(workspace_id), "api_key": key}) + "\n")
    else:
        sys.stdout.write(f"workspace_id: {workspace_id}\napi_key: {key}\n")


@tokens_app.command("new-key")
def tokens_new_key() -> None:
    """Print a new key. To rotate: put it first in LOUPE_TOKEN_KEYS (comma-separated), restart, run
    `loupe tokens rotate`, then drop the old key once connections in progress (10 minutes) are done."""
    from loupe.kit.vault import new_key

    sys.stdout.write(new_key() + "\n")


@tokens_app.command("rotate")
def tokens_rotate(data_dir: DataDir = None) -> None:
    """Re-encrypt every stored platform token under the first key of LOUPE_TOKEN_KEYS."""
    from loupe.connections.rotation import rotate_tokens
    from loupe.kit.vault import TokenVault
    from loupe.runtime import resolve_service_urls

    settings = _settings(data_dir)
    vault = TokenVault.of(settings)
    with resolve_service_urls(settings) as (database_url, _):
        count = asyncio.run(rotate_tokens(database_url, vault))
    console.print(f"re-encrypted the tokens of {count} connection(s) under the first key")


@stats_app.command("rebuild")
def stats_rebuild(
    data_dir: DataDir = None,
    workspace: Annotated[str | None, typer.Option(help="Only this workspace's links (id).")] = None,
    days: Annotated[int, typer.Option(min=1, help="UTC days recounted per transaction.")] = 7,
) -> None:
    """Recount the click and conversion roll-ups from the stored rows, one link and a few days at a time;
    safe while the api and workers run (they wait for one chunk at most, never for a table lock)."""
    import uuid

    from loupe.runtime import resolve_service_urls
    from loupe.stats.rebuild import rebuild_database

    workspace_id = uuid.UUID(workspace) if workspace else None
    settings = _settings(data_dir)
    with resolve_service_urls(settings) as (database_url, _):
        done = asyncio.run(rebuild_database(database_url, workspace_id, days=days))
    console.print(f"recounted the roll-ups of {done.links} link(s) in {done.chunks} chunk(s)")


@app.command()
def sandbox(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the platform sandbox.")] = 8100,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic world.")] = 42,
    callback_base: Annotated[
        str | None, typer.Option(help="URL of the api: the apps' removal callbacks default to its /webhooks/...")
    ] = None,
    world_size: Annotated[
        int, typer.Option(min=1, help="Creators in the synthetic world (the 12 fixed layouts, then again).")
    ] = 12,
) -> None:
    """Run the platform sandbox: local stand-ins for Instagram, Facebook, TikTok, YouTube, X and Twitch."""
    import uvicorn

    from loupe.kit.logging import configure_logging
    from loupe.sandbox import create_app as create_sandbox

    settings = _settings(data_dir)
    configure_logging(settings.log_level, settings.log_json, settings.log_colors)
    sandbox_app = create_sandbox(seed=seed, callback_base=callback_base, world_size=world_size)
    uvicorn.run(sandbox_app, host=host, port=port, log_config=None, access_log=False)


@app.command()
def mailsink(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="SMTP port.")] = 8025,
    web_port: Annotated[int, typer.Option(help="Port of the page listing received mails.")] = 8026,
) -> None:
    """Run the development mail sink: an SMTP server keeping every mail, and a page listing them."""
    import uvicorn

    from loupe.kit.mailsink import MailSink, create_web_app

    with MailSink(host, port) as sink:
        console.print(f"SMTP on {host}:{port}; mails at http://{host}:{web_port}/")
        uvicorn.run(create_web_app(sink.store), host=host, port=web_port, log_config=None, access_log=False)


@app.command()
def dev(
    data_dir: DataDir = None,
    port: Annotated[int, typer.Option(help="Port of the API.")] = 8000,
    sandbox_port: Annotated[int, typer.Option(help="Port of the platform sandbox.")] = 8100,
    seed: Annotated[int, typer.Option(help="Seed of the sandbox's synthetic world.")] = 42,
    mail_port: Annotated[int, typer.Option(help="SMTP port of the mail sink (its page: the next port).")] = 8025,
    demo: Annotated[
        bool, typer.Option(help="Connect the demo creators and make the demo campaign once the stack answers.")
    ] = True,
) -> None:
    """Everything at once on the embedded default: servers, migrations, demo data, api, worker, sandbox."""
    import httpx

    from loupe.kit.embedded import embedded_servers
    from loupe.kit.migrations import upgrade
    from loupe.kit.vault import dev_keys
    from loupe.seed import ensure_demo_workspace, seed_demo_activity

    settings = _settings(data_dir)
    _refuse_taken_ports({"--port": [port], "--sandbox-port": [sandbox_port], "--mail-port": [mail_port, mail_port + 1]})
    # SIGINT and SIGTERM both stop us, whatever handler our parent left us; SIGUSR1 prints every thread's
    # stack on our output, beside the children's lines (`kill -USR1 <pid>`: where a slow stop waits).
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    faulthandler.register(signal.SIGUSR1, file=sys.stdout, all_threads=True)
    try:
        with embedded_servers(settings.data_dir) as servers:
            upgrade(servers.database_url)
            demo_brand = asyncio.run(ensure_demo_workspace(servers.database_url, settings.data_dir))
            api_key, connect_token = demo_brand.api_key, demo_brand.connect_token
            if not settings.token_keys:
                dev_keys(settings.data_dir)  # made once, before the children that all read it
            base = f"http://127.0.0.1:{port}"
            sandbox_url = f"http://127.0.0.1:{sandbox_port}"
            env = {
                # Readable logs, coloured when we print to a terminal (LOUPE_LOG_JSON=true brings JSON back).
                "LOUPE_LOG_JSON": "false",
                "LOUPE_LOG_COLORS": str(sys.stdout.isatty()).lower(),
                **os.environ,
                "LOUPE_DATA_DIR": str(settings.data_dir),
                "LOUPE_DATABASE_URL": servers.database_url,
                "LOUPE_REDIS_URL": servers.redis_url,
                "LOUPE_PUBLIC_BASE_URL": base,
                "LOUPE_SANDBOX_URL": sandbox_url,
                "LOUPE_SMTP__HOST": "127.0.0.1",
                "LOUPE_SMTP__PORT": str(mail_port),
                "PYTHONUNBUFFERED": "1",
            }
            loupe = [sys.executable, "-m", "loupe"]
            children = _Children(
                {
                    "sandbox": [*loupe, "sandbox", f"--port={sandbox_port}", f"--seed={seed}", "--callback-base", base],
                    "api": [*loupe, "serve", "--port", str(port)],
                    "worker": [*loupe, "worker"],
                    "mail": [*loupe, "mailsink", "--port", str(mail_port), "--web-port", str(mail_port + 1)],
                },
                env,
            )
            try:
                children.wait_until(
                    lambda: (
                        _answers(f"{base}/healthz")
                        and _answers(f"{sandbox_url}/_sandbox/accounts")
                        and _worker_is_healthy(servers.redis_url)
                    )
                )
                try:
                    if demo:
                        seed_demo_activity(base, sandbox_url, api_key)
                except httpx.HTTPError as exc:  # the demo is a convenience: the stack runs without it
                    console.print(f"[yellow]demo activity not created: {exc}[/yellow]")
                children.settle()  # the banner goes last, after the children's startup lines
                children.write(
                    f"\nLoupe is running (data in {settings.data_dir})\n"
                    f"  API base URL : {base}/v1\n"
                    f"  API docs     : {base}/docs\n"
                    f"  Creator page : {base}/connect/w/{connect_token} (the demo brand's connect link)\n"
                    f"  Sandbox      : {sandbox_url}/_sandbox/ (creators, faults, app removal)\n"
                    f"  Mail sink    : http://127.0.0.1:{mail_port + 1}/ (SMTP on port {mail_port})\n"
                    f"  Demo API key : {api_key}\n"
                    f"  Demo person  : {demo_brand.email} / {demo_brand.password} (owner of the demo brand: "
                    f"Authorize at {base}/docs with them)\n"
                    f"  Try          : curl -H 'Authorization: Bearer {api_key}' {base}/v1/reports\n"
                    "Press Ctrl-C to stop.\n\n"
                )
                children.supervise(servers)
            except KeyboardInterrupt:
                pass
            finally:
                children.stop()
    finally:
        faulthandler.unregister(signal.SIGUSR1)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _refuse_taken_ports(ports: dict[str, list[int]]) -> None:
    """Before anything starts: a port in use would only show as a child failing later, less clearly."""
    import socket

    for option, numbers in ports.items():
        for number in numbers:
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
                try:
                    sock.bind(("127.0.0.1", number))
                except OSError:
                    sys.stderr.write(
                        f"Port {number} is already in use (another `loupe dev`?); choose another with {option}.\n"
                    )
                    raise typer.Exit(1) from None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _worker_is_healthy(redis_url: str) -> bool:
    """The worker's health key is written once it polls for jobs (what `loupe worker --check` reads)."""
    from arq.constants import health_check_key_suffix
    from redis import Redis

    from loupe.kit.jobs import QUEUE_NAME

    with Redis.from_url(redis_url, socket_timeout=1) as redis:
        return bool(redis.exists(QUEUE_NAME + health_check_key_suffix))


class _Children:
    """The processes of `loupe dev`, supervised: one that dies is started again with backoff (and a
    one-line notice). Each line they print reaches our stdout behind its name (`api    | `)."""

    STEADY_SECONDS = 60.0  # a child up this long starts its backoff afresh when it dies

    def __init__(self, commands: dict[str, list[str]], env: dict[str, str]) -> None:
        from loupe.kit.outages import Backoff

        self._commands = commands
        self._env = env
        self._width = max(map(len, commands))
        self._lock = threading.Lock()
        self._last_output = time.monotonic()
        self._procs: dict[str, subprocess.Popen[str]] = {}
        self._started: dict[str, float] = {}
        self._backoff = {name: Backoff(first=0.5, cap=30) for name in commands}
        self._relays: list[threading.Thread] = []
        for name in commands:
            self._start(name)

    def _start(self, name: str) -> None:
        # Each child leads its own process group so Ctrl-C reaches it once, through us.
        proc = subprocess.Popen(
            self._commands[name],
            env=self._env,
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        relay = threading.Thread(target=self._relay, args=(f"{name:<{self._width}}| ", proc.stdout), daemon=True)
        relay.start()
        self._procs[name], self._started[name] = proc, time.monotonic()
        self._relays = [r for r in self._relays if r.is_alive()] + [relay]

    def _relay(self, prefix: str, stream: IO[str]) -> None:
        for line in stream:  # until the child (and anything it spawned) closes its end
            self.write(prefix + line.rstrip("\n") + "\n")

    def write(self, text: str) -> None:
        with self._lock:
            self._last_output = time.monotonic()
            try:
                sys.stdout.write(text)
                sys.stdout.flush()
            except (OSError, ValueError):
                pass  # our stdout is gone: keep reading, so that no child blocks on a full pipe

    def _exited(self) -> tuple[str, int] | None:
        for name, proc in self._procs.items():
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def wait_until(self, ready: Callable[[], bool], timeout: float = 60) -> None:
        """Startup: a child that exits now has a problem a restart would not fix (its last lines say which)."""
        deadline = time.monotonic() + timeout
        while not ready():
            if exited := self._exited():
                raise typer.Exit(f"{exited[0]} exited with code {exited[1]}")  # type: ignore[arg-type]
            if time.monotonic() > deadline:
                raise TimeoutError(f"loupe dev did not come up within {timeout:.0f}s")
            time.sleep(0.2)

    def settle(self, quiet: float = 0.5, timeout: float = 5) -> None:
        """Wait until no child has printed anything for `quiet` seconds (at most `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() - self._last_output < quiet and time.monotonic() < deadline:
            time.sleep(0.1)

    def supervise(self, servers: Any) -> None:
        """Until Ctrl-C or SIGTERM: restart dead children with backoff, and the embedded servers we
        started on their port from their folder."""
        due: dict[str, float] = {}
        while True:
            try:
                for name in servers.restart_dead():
                    self.write(f"{name} stopped; started it again on the same port from {servers.data_dir}\n")
            except (OSError, subprocess.SubprocessError) as exc:
                self.write(f"an embedded server stopped and could not be started again ({exc}); retrying\n")
                time.sleep(2)
            now = time.monotonic()
            for name, proc in self._procs.items():
                if name in due or proc.poll() is None:
                    continue
                backoff = self._backoff[name]
                if now - self._started[name] > self.STEADY_SECONDS:
                    backoff.reset()
                delay = backoff.next_delay()
                due[name] = now + delay
                self.write(f"{name} exited with code {proc.returncode}; restarting it in {delay:.1f} s\n")
            for name, at in list(due.items()):
                if now >= at:
                    del due[name]
                    self._start(name)
            time.sleep(0.2)

    def stop(self) -> None:
        for proc in self._procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self._procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        deadline = time.monotonic() + 5
        for relay in self._relays:  # their last lines (shutdown messages) are printed before we go on
            relay.join(timeout=max(0.1, deadline - time.monotonic()))
        console.print("stopped")

"""The `loupe` command: runs each process, migrations, workspaces and the whole stack for development."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from loupe.config import Settings, get_settings

app = typer.Typer(help="Loupe: measure influencer marketing.", no_args_is_help=True, add_completion=False)
workspace_app = typer.Typer(help="Workspaces and their API keys.", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
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

    _settings(data_dir)
    uvicorn.run(
        "loupe.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # The client address is the peer's; a proxy's header is trusted only through
        # LOUPE_TRUSTED_PROXY_HEADER (the redirect records countries from it). Links use public_base_url.
        proxy_headers=False,
        log_config=None,
        access_log=False,
    )


@app.command()
def redirect(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the click redirect.")] = 8001,
) -> None:
    """Run the click redirect (`/l/{code}`) alone: a small ASGI app, one uvicorn process."""
    import uvicorn

    from loupe.kit.logging import configure_logging
    from loupe.redirect.factory import create_redirect_app
    from loupe.runtime import resolve_service_urls

    settings = _settings(data_dir)
    configure_logging(settings.log_level, settings.log_json)
    with resolve_service_urls(settings) as (database_url, redis_url):
        # The client address comes from LOUPE_TRUSTED_PROXY_HEADER when set, never from uvicorn's guess.
        application = create_redirect_app(settings, database_url, redis_url)
        uvicorn.run(application, host=host, port=port, proxy_headers=False, log_config=None, access_log=False)


@app.command()
def worker(
    data_dir: DataDir = None,
    burst: Annotated[bool, typer.Option(help="Run queued jobs, then exit.")] = False,
    check: Annotated[bool, typer.Option(help="Exit 0 if a worker reported healthy recently.")] = False,
) -> None:
    """Run the background worker (arq)."""
    from loupe.kit.logging import configure_logging
    from loupe.runtime import resolve_service_urls
    from loupe.worker import create_worker

    settings = _settings(data_dir)
    configure_logging(settings.log_level, settings.log_json)
    with resolve_service_urls(settings) as (database_url, redis_url):
        if check:
            from arq.worker import async_check_health

            from loupe.kit.jobs import QUEUE_NAME, redis_settings

            code = asyncio.run(async_check_health(redis_settings(redis_url), queue_name=QUEUE_NAME))
            raise typer.Exit(code)
        create_worker(settings, database_url, redis_url, burst=burst).run()


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


@app.command()
def sandbox(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the platform sandbox.")] = 8100,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic world.")] = 42,
) -> None:
    """Run the platform sandbox: local stand-ins for Instagram, Facebook, TikTok, YouTube, X and Twitch."""
    from loupe.sandbox import serve as serve_sandbox

    _settings(data_dir)
    serve_sandbox(host, port, seed)


@app.command()
def dev(
    data_dir: DataDir = None,
    port: Annotated[int, typer.Option(help="Port of the API.")] = 8000,
    sandbox_port: Annotated[int, typer.Option(help="Port of the platform sandbox.")] = 8100,
    seed: Annotated[int, typer.Option(help="Seed of the sandbox's synthetic world.")] = 42,
) -> None:
    """Everything at once on the embedded default: servers, migrations, demo data, api, worker, sandbox."""
    from loupe.kit.embedded import embedded_servers
    from loupe.kit.migrations import upgrade
    from loupe.seed import ensure_demo_workspace

    settings = _settings(data_dir)
    with embedded_servers(settings.data_dir) as servers:
        upgrade(servers.database_url)
        api_key = asyncio.run(ensure_demo_workspace(servers.database_url, settings.data_dir))
        base = f"http://127.0.0.1:{port}"
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        env = {
            **os.environ,
            "LOUPE_DATA_DIR": str(settings.data_dir),
            "LOUPE_DATABASE_URL": servers.database_url,
            "LOUPE_REDIS_URL": servers.redis_url,
            "LOUPE_PUBLIC_BASE_URL": base,
            "LOUPE_SANDBOX_URL": sandbox_url,
        }
        loupe = [sys.executable, "-m", "loupe"]
        commands: dict[str, list[str]] = {
            "sandbox": [*loupe, "sandbox", "--port", str(sandbox_port), "--seed", str(seed)],
            "api": [*loupe, "serve", "--port", str(port)],
            "worker": [*loupe, "worker"],
        }
        children = _start_children(commands, env)
        try:
            _wait_until_up(f"{base}/healthz", children)
            sys.stdout.write(
                f"\nLoupe is running (data in {settings.data_dir})\n"
                f"  API base URL : {base}/v1\n"
                f"  API docs     : {base}/docs\n"
                f"  Sandbox      : {sandbox_url}/_sandbox/\n"
                f"  Demo API key : {api_key}\n"
                f"  Try          : curl -H 'Authorization: Bearer {api_key}' {base}/v1/reports\n"
                "Press Ctrl-C to stop.\n\n"
            )
            sys.stdout.flush()
            _supervise(children)
        finally:
            _stop_children(children)


def _start_children(commands: dict[str, list[str]], env: dict[str, str]) -> dict[str, subprocess.Popen[Any]]:
    # Each child leads its own process group so Ctrl-C reaches it once, through us.
    return {name: subprocess.Popen(command, env=env, start_new_session=True) for name, command in commands.items()}


def _wait_until_up(url: str, children: dict[str, subprocess.Popen[Any]], timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, child in children.items():
            if child.poll() is not None:
                raise typer.Exit(f"{name} exited with code {child.returncode}")  # type: ignore[arg-type]
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


def _supervise(children: dict[str, subprocess.Popen[Any]]) -> None:
    stop = {"requested": False}

    def request_stop(signum: int, frame: object) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGTERM, request_stop)
    try:
        while not stop["requested"]:
            for name, child in children.items():
                if child.poll() is not None:
                    console.print(f"[red]{name} exited with code {child.returncode}; stopping[/red]")
                    return
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


def _stop_children(children: dict[str, subprocess.Popen[Any]]) -> None:
    for child in children.values():
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    console.print("stopped")

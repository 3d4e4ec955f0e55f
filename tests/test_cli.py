"""The `loupe` command on the embedded default: reuses running servers, stops only what it started."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg

from loupe.kit.embedded import EmbeddedServers

LOUPE = [sys.executable, "-m", "loupe"]


def _run(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOUPE_")}
    return subprocess.run(
        [*LOUPE, *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**clean, "LOUPE_LOG_LEVEL": "WARNING", **env},
    )


async def _workspace(database_url: str, workspace_id: str) -> tuple[str, str] | None:
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        row = await conn.fetchrow("SELECT name, plan::text FROM workspaces WHERE id = $1::uuid", workspace_id)
    finally:
        await conn.close()
    return (row["name"], row["plan"]) if row else None


def test_workspace_create_beside_running_servers(servers: EmbeddedServers) -> None:
    pg_port, redis_port = servers.postgres.running_port(), servers.redis.running_port()
    result = _run(["workspace", "create", "Acme Agency", "--plan", "production", "--json"], servers.data_dir)
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["api_key"].startswith("lp_")
    url = servers.postgres.url(pg_port)  # type: ignore[arg-type]
    assert asyncio.run(_workspace(url, created["workspace_id"])) == ("Acme Agency", "production")
    # The servers it found running are still running, on the same ports.
    assert (servers.postgres.running_port(), servers.redis.running_port()) == (pg_port, redis_port)


def test_workspace_create_on_a_fresh_folder_starts_and_stops_its_servers(tmp_path: Path) -> None:
    result = _run(["workspace", "create", "Fresh"], tmp_path / "data")
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.strip().splitlines())
    assert set(lines) == {"workspace_id", "api_key"}
    left = EmbeddedServers(tmp_path / "data")
    assert left.postgres.running_port() is None and left.redis.running_port() is None


def test_bad_plan_is_refused(tmp_path: Path) -> None:
    result = _run(["workspace", "create", "X", "--plan", "gold"], tmp_path / "unused")
    assert result.returncode != 0 and "staging or production" in result.stderr
    assert not (tmp_path / "unused").exists()


def test_bad_configuration_stops_a_process_with_a_sentence_per_setting(tmp_path: Path) -> None:
    for command in (["worker"], ["serve"]):
        result = _run(command, tmp_path / "unused", LOUPE_CLICK_FLUSH_BATCH="-3")
        assert result.returncode == 2, result.stderr
        assert result.stderr == "Invalid configuration: LOUPE_CLICK_FLUSH_BATCH: Input should be greater than 0\n"
    assert not (tmp_path / "unused").exists()


def test_openapi_command_prints_the_contract(tmp_path: Path) -> None:
    result = subprocess.run([*LOUPE, "openapi"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    committed = json.loads((Path(__file__).resolve().parents[1] / "openapi" / "openapi.json").read_text())
    assert json.loads(result.stdout) == committed


def test_second_handle_reuses_and_does_not_stop(servers: EmbeddedServers) -> None:
    other = EmbeddedServers(servers.data_dir).start()
    assert other.started == []
    assert other.database_url == servers.database_url and other.redis_url == servers.redis_url
    other.stop_started()
    assert servers.postgres.running_port() is not None and servers.redis.running_port() is not None


def test_a_schema_behind_the_code_stops_each_process_with_one_sentence(servers: EmbeddedServers) -> None:
    """A database never migrated: the api, the redirect and the worker refuse to start (a restart can't fix
    it), each saying what to run, with no traceback."""
    port = servers.postgres.running_port()
    admin = servers.postgres.url(port).replace("+asyncpg", "")  # type: ignore[arg-type]

    async def blank_database() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute("DROP DATABASE IF EXISTS loupe_unmigrated")
            await conn.execute("CREATE DATABASE loupe_unmigrated")
        finally:
            await conn.close()

    asyncio.run(blank_database())
    env = {
        "LOUPE_DATABASE_URL": servers.postgres.url(port, "loupe_unmigrated"),  # type: ignore[arg-type]
        "LOUPE_REDIS_URL": servers.redis_url,
    }
    for command in (["serve", "--port", "1"], ["redirect", "--port", "1"], ["worker"]):
        result = _run(command, servers.data_dir, **env)
        assert result.returncode == 1, (command, result.stderr)
        assert result.stderr.strip().splitlines()[-1] == (
            "The database schema is behind the code: run `loupe migrate` first."
        ), (command, result.stderr)
        assert "Traceback" not in result.stderr

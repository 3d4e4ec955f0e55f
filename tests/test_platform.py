"""Service plumbing a client notices: problem documents, request ids, body limits, health, metrics."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from loupe.config import Settings
from loupe.kit.context import ProcessContext
from loupe.kit.deps import SessionDep
from loupe.kit.vault import TokenVault, VaultError, dev_keys, new_key
from tests.conftest import Tenant


async def test_a_request_without_valid_credentials_is_never_read_past_the_anonymous_limit(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    """An anonymous client (or one with a revoked or made-up key) can make us buffer 64 KiB, not the
    1 MB JSON limit nor the 20 MB media one; a valid key is read up to its route's limit."""
    body = b'{"name": "' + b"x" * (settings.max_anonymous_body_bytes * 2) + b'"}'
    json_type = {"content-type": "application/json"}
    for headers in ({}, {"Authorization": "Bearer lp_madeup"}, {"Authorization": "Bearer la_madeup"}):
        refused = await client.post("/v1/reports", content=body, headers={**headers, **json_type})
        assert refused.status_code == 413, (headers, refused.status_code)
        assert "without valid credentials" in refused.json()["detail"]
        media = await client.post(
            f"/v1/campaigns/{uuid.uuid4()}/creators/{uuid.uuid4()}/stories",
            files={"media": ("story.jpg", b"\xff\xd8\xff" + b"0" * 200_000, "image/jpeg")},
            data={"posted_at": "2026-11-01T10:00:00Z"},
            headers=headers,
        )
        assert media.status_code == 413 and "without valid credentials" in media.json()["detail"]

    async def chunks():  # no Content-Length: refused once the stream passes the anonymous limit
        for _ in range(4):
            yield b"x" * settings.max_anonymous_body_bytes

    assert (await client.post("/v1/reports", content=chunks(), headers=json_type)).status_code == 413
    read = await client.post("/v1/reports", content=body, headers={**tenant.write, **json_type})
    assert read.status_code == 422 and read.json()["errors"][0]["field"] == "body.name"  # read, then judged


async def test_only_upload_routes_take_the_media_limit(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    """Multipart is not a pass to 20 MB: a route without an upload keeps the JSON limit."""
    files = {"file": ("big.bin", b"0" * (settings.max_body_bytes + 1), "application/octet-stream")}
    response = await client.post("/v1/reports", files=files, headers=tenant.write)
    assert response.status_code == 413
    assert response.json()["detail"] == f"The request body exceeds {settings.max_body_bytes} bytes."


async def test_request_id_is_generated_or_echoed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    generated = await client.get("/v1/reports", headers=tenant.read)
    assert len(generated.headers["x-request-id"]) == 32
    echoed = await client.get("/v1/reports", headers={**tenant.read, "X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    unsafe = await client.get("/v1/reports", headers={**tenant.read, "X-Request-ID": "bad id\x7f"})
    assert unsafe.headers["x-request-id"] != "bad id\x7f"
    assert (await client.get("/nope")).headers["x-request-id"]  # errors carry it too


async def test_oversized_body_is_413_and_creates_nothing(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    big = b'{"name": "' + b"x" * settings.max_body_bytes + b'"}'
    response = await client.post(
        "/v1/reports", content=big, headers={**tenant.write, "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413

    async def chunks():  # no Content-Length: the limit applies while streaming
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    streamed = await client.post("/v1/reports", content=chunks(), headers=tenant.write)
    assert streamed.status_code == 413
    assert (await client.get("/v1/reports", headers=tenant.read)).json()["data"] == []


async def test_unknown_route_and_method_are_problems(client: httpx.AsyncClient, tenant: Tenant) -> None:
    missing = await client.get("/v1/nothing-here", headers=tenant.read)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    wrong_method = await client.put("/v1/reports", headers=tenant.write, json={})
    assert wrong_method.status_code == 405 and wrong_method.json()["status"] == 405


async def test_unexpected_errors_hide_internals(settings: Settings, db: ProcessContext) -> None:
    from loupe.app import create_app

    app = create_app(settings, context=db)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("SELECT secret FROM internals")

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t"
    ) as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "SELECT" not in response.text and "Traceback" not in response.text


async def test_integrity_errors_become_409(settings: Settings, db: ProcessContext) -> None:
    from loupe.app import create_app

    app = create_app(settings, context=db)
    insert = text("INSERT INTO workspaces (id, name, plan) VALUES (:id, 'x', 'staging')")

    @app.post("/dup")
    async def dup(session: SessionDep) -> None:
        same = uuid.uuid4()
        await session.execute(insert, {"id": same})
        await session.execute(insert, {"id": same})

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.post("/dup")
    assert response.status_code == 409
    assert "pk_" not in response.text and "INSERT" not in response.text


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok", "checks": {}}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_readyz_reports_unreachable_redis(settings: Settings, database_url: str) -> None:
    from loupe.app import create_app
    from loupe.kit.embedded import free_port

    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    # create_pool pings Redis at creation, so build the context by hand with a lazy client.
    from arq.connections import ArqRedis

    from loupe.kit.db import create_engine, create_sessionmaker
    from loupe.kit.media import MediaStore
    from loupe.kit.vault import TokenVault

    engine = create_engine(database_url)
    ctx = ProcessContext(
        settings,
        engine,
        create_sessionmaker(engine),
        ArqRedis.from_url(dead_redis, socket_connect_timeout=0.5),
        httpx.AsyncClient(),
        MediaStore.of(settings),
        TokenVault.of(settings),
    )
    app = create_app(settings, context=ctx)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/readyz")
    await ctx.close()
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["redis"].startswith("unavailable")


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await client.get("/v1/reports", headers=tenant.read)
    await client.get(f"/v1/reports/{uuid.uuid4()}", headers=tenant.read)
    await client.get("/no/such/path", headers=tenant.read)
    metrics = (await client.get("/metrics")).text
    assert 'loupe_http_requests_total{method="GET",route="/v1/reports",status="200"}' in metrics
    assert 'route="/v1/reports/{report_id}",status="404"' in metrics
    assert 'route="unmatched",status="404"' in metrics and "/no/such/path" not in metrics
    assert "loupe_http_request_duration_seconds_bucket" in metrics


async def test_api_keys_lifecycle(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await client.post("/v1/api-keys", json={"name": "CI", "scopes": ["read"]}, headers=tenant.write)
    assert created.status_code == 201
    secret, key_id = created.json()["key"], created.json()["id"]
    assert created.json()["scopes"] == ["read"] and secret.startswith(created.json()["prefix"])
    assert (await client.get("/v1/api-keys", headers=tenant.read)).status_code == 403  # key management: admin
    listed = (await client.get("/v1/api-keys", headers=tenant.write)).json()["data"]
    assert key_id in [k["id"] for k in listed] and all("key" not in k for k in listed)
    assert (await client.get("/v1/reports", headers={"Authorization": f"Bearer {secret}"})).status_code == 200
    assert (await client.delete(f"/v1/api-keys/{key_id}", headers=tenant.write)).status_code == 204
    assert (await client.get("/v1/reports", headers={"Authorization": f"Bearer {secret}"})).status_code == 401
    me = (await client.get("/v1/workspace", headers=tenant.read)).json()
    assert me["id"] == tenant.workspace_id and me["plan"] == "staging"


async def test_api_keys_are_stored_hashed(client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext) -> None:
    async with db.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT key_hash, prefix FROM api_keys"))).all()
    assert stored and all(tenant.write_key not in (h, p) and len(h) == 64 for h, p in stored)


async def test_admin_key_cannot_revoke_itself(client: httpx.AsyncClient, tenant: Tenant) -> None:
    keys = (await client.get("/v1/api-keys", headers=tenant.write)).json()["data"]
    default = next(k for k in keys if k["name"] == "Default key")
    response = await client.delete(f"/v1/api-keys/{default['id']}", headers=tenant.write)
    assert response.status_code == 409


def test_production_requires_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="LOUPE_DATABASE_URL"):
        Settings(env="production")  # type: ignore[arg-type]
    # A variable of an older version (LOUPE_SECRET_KEY) or a typo is ignored, not fatal.
    monkeypatch.setenv("LOUPE_SECRET_KEY", "left-over")
    urls = {"database_url": "postgresql://u:pw-s3cr3t@x/y", "redis_url": "redis://x"}
    with pytest.raises(ValueError, match="LOUPE_TOKEN_KEYS is required in production"):
        Settings(env="production", **urls)  # type: ignore[arg-type]
    first, second = new_key(), new_key()
    monkeypatch.setenv("LOUPE_TOKEN_KEYS", f"{first}, {second}")
    ok = Settings(env="production", **urls)  # type: ignore[arg-type]
    assert "pw-s3cr3t" not in repr(ok) and first not in repr(ok)  # secrets never appear in reprs or logs
    assert [key.get_secret_value() for key in ok.token_keys] == [first, second]


def test_token_keys_rotate_and_refuse_what_they_cannot_read(tmp_path: Path) -> None:
    old = TokenVault([new_key()])
    sealed = old.encrypt("tok-123")
    both = TokenVault([new_key(), *old.keys])
    assert both.decrypt(sealed) == "tok-123"  # the old key still reads
    rotated = both.rotate(sealed)
    newest_only = TokenVault(both.keys[:1])
    assert newest_only.decrypt(rotated) == "tok-123"
    with pytest.raises(VaultError):
        newest_only.decrypt(sealed)
    with pytest.raises(ValueError, match="malformed key") as refused:
        TokenVault(["not-a-key"])
    assert "not-a-key" not in str(refused.value)
    # Development: one key, made once into the data folder, readable by its owner only.
    assert dev_keys(tmp_path) == dev_keys(tmp_path) and len(dev_keys(tmp_path)) == 1
    assert (tmp_path / "token-keys").stat().st_mode & 0o077 == 0


async def test_redis_persists_what_it_acknowledged(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    config = await redis.config_get("append*")
    await redis.aclose()
    assert config["appendonly"] == "yes" and config["appendfsync"] == "everysec"


def test_platform_apps_come_from_settings_or_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOUPE_PLATFORMS__INSTAGRAM__CLIENT_ID", "ig-app")
    monkeypatch.setenv("LOUPE_PLATFORMS__INSTAGRAM__CLIENT_SECRET", "ig-secret")
    real = Settings().platforms_config()
    assert real.instagram.client_id == "ig-app" and real.instagram.graph_url == "https://graph.facebook.com"
    assert "ig-secret" not in repr(real)
    sandboxed = Settings(sandbox_url="http://127.0.0.1:8100").platforms_config()  # type: ignore[call-arg]
    assert sandboxed.tiktok.api_url == "http://127.0.0.1:8100/open.tiktokapis.com"
    assert sandboxed.youtube.client_id == "loupe-sandbox-youtube"


def test_logs_are_json_with_the_request_id_and_no_secrets(tmp_path: Path) -> None:
    """Run a request in a fresh interpreter and read what it logged on stderr."""
    script = """
import asyncio, httpx, logging
from loupe.kit.logging import configure_logging
from loupe.kit.middleware import RequestContextMiddleware
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

configure_logging("INFO", json=True)
logging.getLogger("httpx").setLevel(logging.INFO)  # as an operator debugging platform calls would
app = RequestContextMiddleware(Starlette(routes=[Route("/x", lambda r: PlainTextResponse("ok"))]))
logging.getLogger("httpx").info("GET https://graph.facebook.com/oauth/access_token?client_id=1&client_secret=s3cr3t")
logging.getLogger("loupe.test").warning("sent %s", "Authorization: Bearer tok3n-abcdefgh")
import structlog
structlog.get_logger("loupe.test").info("calling", url="https://x.test/?access_token=t0k3n&fields=id")

async def main():
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        await c.get("/x", headers={"X-Request-ID": "req-42"})

asyncio.run(main())
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    request_lines = [line for line in lines if line.get("event") == "request"]
    assert request_lines and request_lines[0]["request_id"] == "req-42"
    assert request_lines[0]["status"] == 200 and "timestamp" in request_lines[0]
    redacted = [line["event"] for line in lines if "graph.facebook.com" in line.get("event", "")]
    assert redacted == ["GET https://graph.facebook.com/oauth/access_token?client_id=1&client_secret=***"]
    assert any(line.get("event") == "sent Authorization: Bearer ***" for line in lines)
    assert any(line.get("url") == "https://x.test/?access_token=***&fields=id" for line in lines)
    for secret in ("s3cr3t", "tok3n-abcdefgh", "t0k3n"):
        assert secret not in result.stderr


def test_console_logs_are_readable_and_idle_cron_runs_stay_quiet() -> None:
    """What `loupe dev` shows: console lines (uvicorn's too), no arq lines for cron runs, errors kept."""
    script = """
import logging
from loupe.kit.logging import configure_logging

configure_logging("INFO", json=False, colors=False)
arq = logging.getLogger("arq.worker")
logging.getLogger("uvicorn.error").info("Started server process [1]")
arq.info("%6.2fs → %s(%s)%s", 0.01, "cron:flush_clicks:1700000000000:flush_clicks", "", "")
arq.info("%6.2fs ← %s ● %s", 0.02, "cron:flush_clicks:1700000000000:flush_clicks", "")
arq.info("recording health: %s", "Dec-01 10:00:00 j_complete=3 j_failed=0 j_retried=0 j_ongoing=0 queued=0")
arq.info("%6.2fs → %s(%s)%s", 0.01, "a1b2:heartbeat", "", "")
arq.error("%6.2fs ! %s failed, %s: %s", 0.03, "cron:flush_clicks:1700000000002:flush_clicks", "OSError", "x")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    lines = result.stderr.splitlines()
    assert len(lines) == 3 and not any(line.startswith("{") for line in lines), lines
    assert "[info     ] Started server process [1]" in lines[0]
    assert "a1b2:heartbeat()" in lines[1]
    assert "[error    ]" in lines[2] and "failed, OSError" in lines[2]


async def test_cors_allows_only_configured_frontends(settings: Settings, db: ProcessContext) -> None:
    from loupe.app import create_app

    app = create_app(settings.model_copy(update={"cors_origins": ["https://app.brand.test"]}), context=db)
    # A SPA signed in by cookie: its writes send the cookies and the CSRF token, its retries a key.
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-csrf-token,idempotency-key",
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        allowed = await client.options("/v1/reports", headers={"Origin": "https://app.brand.test", **preflight})
        other = await client.options("/v1/reports", headers={"Origin": "https://evil.test", **preflight})
        answer = await client.get("/v1/reports", headers={"Origin": "https://app.brand.test"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.brand.test"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in other.headers
    exposed = answer.headers["access-control-expose-headers"].lower()
    assert {"ratelimit", "retry-after", "x-request-id"} <= set(exposed.replace(" ", "").split(","))


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
async def test_deadlocks_and_serialisation_failures_are_a_retryable_409(
    settings: Settings, db: ProcessContext, sqlstate: str
) -> None:
    from loupe.app import create_app

    app = create_app(settings, context=db)
    fail = text(f"DO $$ BEGIN RAISE EXCEPTION 'internal detail' USING ERRCODE = '{sqlstate}'; END $$")

    @app.post("/clash")
    async def clash(session: SessionDep) -> None:
        await session.execute(
            text("INSERT INTO workspaces (id, name, plan) VALUES (gen_random_uuid(), 'x', 'staging')")
        )
        await session.execute(fail)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.post("/clash")
    assert response.status_code == 409 and response.headers["retry-after"] == "1"
    assert response.json()["type"].endswith("/concurrent-update") and "internal detail" not in response.text
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM workspaces"))).scalar() == 0  # rolled back


async def test_metrics_on_the_public_port_only_where_the_settings_allow(settings: Settings, db: ProcessContext) -> None:
    import dataclasses

    from pydantic import SecretStr

    from loupe.app import create_app
    from loupe.config import Environment

    async def public_metrics(headers: dict[str, str] | None = None, **overrides: object) -> int:
        changed = settings.model_copy(update=overrides)
        app = create_app(changed, context=dataclasses.replace(db, settings=changed))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://loupe.test") as client:
            return (await client.get("/metrics", headers=headers)).status_code

    assert await public_metrics() == 200  # development and tests
    assert await public_metrics(env=Environment.production) == 404  # never public by default in production
    assert await public_metrics(metrics_port=9464) == 404  # served by its own listener instead
    token = {"metrics_token": SecretStr("s3cret-metrics"), "env": Environment.production}
    assert await public_metrics(**token) == 404
    assert await public_metrics({"Authorization": "Bearer wrong"}, **token) == 404
    assert await public_metrics({"Authorization": "Bearer s3cret-metrics"}, **token) == 200

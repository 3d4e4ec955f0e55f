"""What stands between an attacker and an account: sign-in lock-outs with growing delays, answers and timings
that do not tell whether an email has an account, single-use expiring reset links, and CSRF on cookies."""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import timedelta

import httpx
from sqlalchemy import update

from loupe.kit.context import ProcessContext
from loupe.kit.db import utcnow
from loupe.kit.jobs import QUEUE_NAME
from loupe.people.models import PersonToken
from loupe.team.jobs import send_password_reset
from tests.team.support import PASSWORD, bearer, emails_to, finish_signups, sign_up, token_sent_to

WRONG = "not the right password"


async def _login(client: httpx.AsyncClient, email: str, password: str = WRONG) -> httpx.Response:
    return await client.post("/v1/auth/login", json={"email": email, "password": password})


async def test_failed_sign_ins_lock_the_email_for_longer_each_time(
    client: httpx.AsyncClient, db: ProcessContext
) -> None:
    await sign_up(client, db, "ada@brand.example")
    assert [(await _login(client, "ada@brand.example")).status_code for _ in range(5)] == [401] * 5
    locked = await _login(client, "ada@brand.example", PASSWORD)  # even the right password waits
    assert locked.status_code == 429 and locked.headers["retry-after"] == "1"
    await asyncio.sleep(1.1)
    assert (await _login(client, "ada@brand.example")).status_code == 401
    longer = await _login(client, "ada@brand.example")
    assert longer.status_code == 429 and longer.headers["retry-after"] == "2"
    await asyncio.sleep(2.1)
    assert (await _login(client, "ada@brand.example", PASSWORD)).status_code == 200
    # A success clears the email's count: the next failure is free again.
    assert (await _login(client, "ada@brand.example")).status_code == 401
    assert (await _login(client, "ada@brand.example")).status_code == 401


async def test_an_address_guessing_many_emails_is_locked_too(client: httpx.AsyncClient, db: ProcessContext) -> None:
    answers = [(await _login(client, f"guess-{n}@brand.example")).status_code for n in range(20)]
    assert answers == [401] * 20
    assert (await _login(client, "another@brand.example")).status_code == 429
    # Unknown emails are counted like known ones: a lock-out says nothing about an account.
    other = await client.post(
        "/v1/auth/login",
        json={"email": "x@brand.example", "password": WRONG},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert other.status_code == 429  # no trusted proxy configured: the header is not believed


async def _median_ms(call, rounds: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def test_unknown_and_known_emails_take_the_same_time(client: httpx.AsyncClient, db: ProcessContext) -> None:
    """Both verify an Argon2 hash (a dummy one for unknown emails): the fastest of alternated runs within 25%.
    The fastest, not the median: load from other processes only ever adds time, so the minimum is the
    work itself (medians of single runs failed on a loaded 2-core machine with identical work)."""
    await sign_up(client, db, "ada@brand.example")
    known, unknown = [], []
    for n in range(8):  # alternated, so load on the machine hits both alike; under the lock-out threshold per email
        known.append(await _median_ms(lambda: _login(client, "ada@brand.example"), 1))
        unknown.append(await _median_ms(lambda n=n: _login(client, f"nobody-{n}@brand.example"), 1))
        await db.arq.flushdb()  # the lock-out would otherwise answer the later rounds early
    a, b = min(known), min(unknown)
    assert abs(a - b) / max(a, b) < 0.25, f"known {a:.1f} ms, unknown {b:.1f} ms"
    assert min(a, b) > 5  # the hash is really verified for both


async def test_signing_up_with_a_taken_email_takes_the_same_time(client: httpx.AsyncClient, db: ProcessContext) -> None:
    """A taken email is told by mail, a new one gets an account, both by the worker: the request hashes the
    password and queues one job either way, so its time does not tell which (fastest of alternated runs within
    25%, as for sign-in)."""
    await sign_up(client, db, "ada@brand.example")

    async def signup(email: str) -> httpx.Response:
        answer = await client.post("/v1/auth/signup", json={"name": "Ada", "email": email, "password": PASSWORD})
        assert answer.status_code == 202, answer.text
        return answer

    async def fastest_of_8(attempt: int) -> tuple[float, float]:
        taken, new = [], []
        for n in range(8):
            taken.append(await _median_ms(lambda: signup("ada@brand.example"), 1))
            new.append(await _median_ms(lambda n=n: signup(f"new-{attempt}-{n}@brand.example"), 1))
        return min(taken), min(new)

    # A second try only when the first differs: a leak is there every time, a neighbour's CPU burst is not
    # (CI runs another test process on the other core).
    a, b = await fastest_of_8(0)
    attempts = 1
    if abs(a - b) / max(a, b) >= 0.25:
        a, b = await fastest_of_8(1)
        attempts = 2
    assert abs(a - b) / max(a, b) < 0.25, f"taken {a:.1f} ms, new {b:.1f} ms"
    assert min(a, b) > 5  # the password is really hashed for both
    assert len(await finish_signups(db)) == 16 * attempts  # and every one was queued


async def test_password_reset_is_single_use_expires_and_signs_out_everywhere(
    client: httpx.AsyncClient, db: ProcessContext
) -> None:
    tokens = await sign_up(client, db, "ada@brand.example")
    for email in ("ada@brand.example", "nobody@brand.example"):
        answer = await client.post("/v1/auth/password-reset", json={"email": email})
        assert (answer.status_code, answer.json()["detail"]) == (
            202,
            "If the address can receive mail, a message is on its way.",
        )
    queued = [
        job.kwargs["email"]
        for job in await db.arq.queued_jobs(queue_name=QUEUE_NAME)
        if job.function == "send_password_reset"
    ]
    assert sorted(queued) == ["ada@brand.example", "nobody@brand.example"]  # the same work for both
    for email in queued:
        await send_password_reset({"process": db}, email)
    assert await emails_to(db, "nobody@brand.example") == []
    token = await token_sent_to(db, "ada@brand.example")

    weak = await client.post("/v1/auth/password-reset/confirm", json={"token": token, "password": "password1234"})
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "body.password"
    new = "a brand new secret phrase"
    assert (
        await client.post("/v1/auth/password-reset/confirm", json={"token": token, "password": new})
    ).status_code == 200
    again = await client.post("/v1/auth/password-reset/confirm", json={"token": token, "password": new + "!"})
    assert again.status_code == 422  # single use
    assert (await client.get("/v1/me", headers=bearer(tokens["access_token"]))).status_code == 401  # signed out
    assert (await _login(client, "ada@brand.example", PASSWORD)).status_code == 401
    assert (await _login(client, "ada@brand.example", new)).status_code == 200

    await send_password_reset({"process": db}, "ada@brand.example")
    late = await token_sent_to(db, "ada@brand.example")
    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            update(PersonToken).values(
                created_at=utcnow() - timedelta(minutes=31), expires_at=utcnow() - timedelta(minutes=1)
            )
        )
    expired = await client.post(
        "/v1/auth/password-reset/confirm", json={"token": late, "password": "yet another phrase"}
    )
    assert expired.status_code == 422


async def test_cookie_sessions_need_the_csrf_token_to_write(client: httpx.AsyncClient, db: ProcessContext) -> None:
    await sign_up(client, db, "ada@brand.example")
    workspace = (
        await client.post(
            "/v1/workspaces",
            json={"name": "Ada's"},
            headers=bearer((await _login(client, "ada@brand.example", PASSWORD)).json()["access_token"]),
        )
    ).json()
    login = await client.post(
        "/v1/auth/login",
        json={"email": "ada@brand.example", "password": PASSWORD, "workspace_id": workspace["id"], "cookie": True},
    )
    assert login.status_code == 200 and login.json()["access_token"] is None and login.json()["refresh_token"] is None
    set_cookie = login.headers.get_list("set-cookie")
    access = next(c for c in set_cookie if c.startswith("loupe_access="))
    refresh = next(c for c in set_cookie if c.startswith("loupe_refresh="))
    for cookie in (access, refresh):
        assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie
    assert "Path=/v1/auth" in refresh
    csrf = login.json()["csrf_token"]
    cookies = {"Cookie": f"loupe_access={access.split(';')[0].split('=', 1)[1]}"}

    assert (await client.get("/v1/reports", headers=cookies)).status_code == 200  # reads need no CSRF token
    forged = await client.post("/v1/reports", json={"name": "From evil.example"}, headers=cookies)
    assert forged.status_code == 403 and "X-CSRF-Token" in forged.json()["detail"]
    wrong = await client.post("/v1/reports", json={"name": "x"}, headers={**cookies, "X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    made = await client.post("/v1/reports", json={"name": "Mine"}, headers={**cookies, "X-CSRF-Token": csrf})
    assert made.status_code == 201
    assert [r["name"] for r in (await client.get("/v1/reports", headers=cookies)).json()["data"]] == ["Mine"]

    refresh_cookie = {"Cookie": f"loupe_refresh={refresh.split(';')[0].split('=', 1)[1]}"}
    assert (await client.post("/v1/auth/refresh", json={}, headers=refresh_cookie)).status_code == 403
    renewed = await client.post("/v1/auth/refresh", json={}, headers={**refresh_cookie, "X-CSRF-Token": csrf})
    assert renewed.status_code == 200 and any(
        c.startswith("loupe_access=") for c in renewed.headers.get_list("set-cookie")
    )

"""The worker through a real `loupe worker` process: it rides out Redis killed and PostgreSQL stopped,
says so through `loupe worker --check`, and every click and job is done exactly once afterwards."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from arq.connections import ArqRedis

from loupe.kit.jobs import QUEUE_NAME, create_job_pool, deserialize
from loupe.worker import check_health
from tests.outages.support import (
    Process,
    Stack,
    all_stored,
    private_stack,
    push_clicks,
    stored_clicks,
    wait_for,
    worker_check,
)


def _healthy(stack: Stack) -> bool:
    """What `loupe worker --check` answers (the same function), without a process per poll."""
    return asyncio.run(check_health(stack.redis_url))[0]


def _says(stack: Stack, text: str) -> bool:
    return text in asyncio.run(check_health(stack.redis_url))[1]


def _lost(worker: Process, dependency: str) -> int:
    lines = [json.loads(line) for line in worker.output().splitlines() if line.startswith("{")]
    return sum(1 for line in lines if line.get("event") == "dependency_lost" and line["dependency"] == dependency)


async def _heartbeats(stack: Stack, n: int) -> list[str]:
    pool: ArqRedis = await create_job_pool(stack.redis_url)
    try:
        return [job.job_id for job in [await pool.enqueue_job("heartbeat", note=f"n{i}") for i in range(n)] if job]
    finally:
        await pool.aclose()


async def _results(stack: Stack, job_ids: list[str]) -> list[str]:
    from arq.jobs import Job

    pool = await create_job_pool(stack.redis_url)
    try:
        jobs = [Job(job_id, pool, _queue_name=QUEUE_NAME, _deserializer=deserialize) for job_id in job_ids]
        return [(await job.result(timeout=60, poll_delay=0.2))["note"] for job in jobs]
    finally:
        await pool.aclose()


def test_the_worker_rides_out_redis_killed_and_postgresql_stopped(tmp_path: Path) -> None:
    with private_stack(tmp_path) as stack:
        with Process(["worker"], stack.env(), tmp_path / "worker.log") as worker:
            wait_for(lambda: _healthy(stack), 60, "the worker never reported healthy")
            sent = asyncio.run(push_clicks(stack, 10))
            asyncio.run(all_stored(stack, sent))

            stack.kill_redis()
            code, message = worker_check(stack)
            assert code == 1 and "Redis is unreachable" in message, message
            time.sleep(4)  # the worker meets the dead Redis in its poll loop and waits, it does not exit
            assert worker.alive, worker.output()[-2000:]
            stack.restart()  # same port, same folder: the append-only file brings the queue back
            sent += asyncio.run(push_clicks(stack, 10))
            wait_for(lambda: _healthy(stack), 30, "not healthy again after Redis came back")

            stack.stop_postgres()
            sent += asyncio.run(push_clicks(stack, 10))  # buffered in Redis while PostgreSQL is down
            jobs = asyncio.run(_heartbeats(stack, 3))
            wait_for(lambda: _says(stack, "cannot reach database"), 30, "healthy with PostgreSQL down")
            code, message = worker_check(stack)  # the probe docker-compose runs
            assert code == 1 and message == "unhealthy: the worker cannot reach database", message
            time.sleep(2)
            assert worker.alive, worker.output()[-2000:]
            stack.restart()
            assert asyncio.run(_results(stack, jobs)) == ["n0", "n1", "n2"]  # no job lost
            stored = asyncio.run(all_stored(stack, sent))
            assert len(stored) == len(set(stored)) == len(sent)  # every click once
            wait_for(lambda: _healthy(stack), 30, "not healthy again after PostgreSQL came back")
            code, message = worker_check(stack)
            assert code == 0 and message.startswith("healthy: "), message
            assert (_lost(worker, "redis"), _lost(worker, "database")) == (1, 1), worker.output()[-3000:]
        assert worker.proc.returncode == 0, worker.output()[-2000:]


def test_a_worker_killed_mid_flush_leaves_the_rest_to_another_worker_exactly_once(tmp_path: Path) -> None:
    with private_stack(tmp_path) as stack:
        sent = asyncio.run(push_clicks(stack, 400))  # 20,000 clicks: seconds of flushing
        env = stack.env(LOUPE_CLICK_RECLAIM_IDLE_MS="2000")
        with Process(["worker"], env, tmp_path / "first.log") as first:
            count = wait_for(lambda: len(asyncio.run(stored_clicks(stack))), 60, "the first worker stored nothing")
            first.kill()  # mid-job: its batch may be stored and not acknowledged, or read and not stored
        partial = len(asyncio.run(stored_clicks(stack)))
        assert 0 < count <= partial < len(sent)
        with Process(["worker"], env, tmp_path / "second.log") as second:
            stored = asyncio.run(all_stored(stack, sent, timeout=120))
            assert len(stored) == len(set(stored)) == len(sent)
        assert second.proc.returncode == 0

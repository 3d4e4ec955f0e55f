"""The servers a benchmark runs against: LOUPE_DATABASE_URL / LOUPE_REDIS_URL when both are set, else the
embedded ones in a temporary data folder (migrated, stopped and removed afterwards)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from loupe.kit.embedded import EmbeddedServers
from loupe.kit.migrations import upgrade


@dataclass
class BenchServers:
    database_url: str
    redis_url: str
    data_dir: Path
    embedded: EmbeddedServers | None  # None when the URLs came from the environment


@contextmanager
def bench_servers() -> Iterator[BenchServers]:
    data_dir = Path(tempfile.mkdtemp(prefix="loupe-bench-"))
    embedded = None
    database_url, redis_url = os.environ.get("LOUPE_DATABASE_URL"), os.environ.get("LOUPE_REDIS_URL")
    if not (database_url and redis_url):
        embedded = EmbeddedServers(data_dir).start()
        database_url, redis_url = embedded.database_url, embedded.redis_url
    try:
        upgrade(database_url)
        yield BenchServers(database_url, redis_url, data_dir, embedded)
    finally:
        if embedded is not None:
            embedded.stop_started()
        shutil.rmtree(data_dir, ignore_errors=True)

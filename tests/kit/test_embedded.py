"""As root, the embedded PostgreSQL runs from a private (0700) folder without changing any folder's mode."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from loupe.kit.embedded import EmbeddedServers, EmbeddedUnavailable

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL from the system folder")


def _modes(path: Path) -> dict[Path, int]:
    return {p: p.stat().st_mode for p in (path, *path.parents)}


@pytest.fixture
def private() -> Iterator[Path]:
    """A folder only root can enter, like /root (tmp_path's own parents are pytest's)."""
    folder = Path(tempfile.mkdtemp())
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_root_runs_postgres_from_a_private_folder(private: Path) -> None:
    assert private.stat().st_mode & 0o777 == 0o700
    before = _modes(private)
    servers = EmbeddedServers(private / "data").start(redis=False)
    try:
        port = servers.postgres.running_port()
        psql = [str(servers.postgres.psql), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "loupe"]
        assert subprocess.run([*psql, "-tAc", "SELECT 1"], capture_output=True, text=True).stdout.strip() == "1"
        assert EmbeddedServers(private / "data").start(redis=False).started == []  # reused, not restarted
    finally:
        servers.stop_started()
    assert servers.postgres.running_port() is None
    assert _modes(private) == before
    cluster = servers.postgres.cluster
    assert cluster is not None and cluster.exists()
    servers.destroy()
    assert not cluster.exists() and not (private / "data").exists()
    assert _modes(private) == before


def test_an_unsafe_system_folder_is_refused_in_one_sentence(
    private: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unsafe = tmp_path / "shared"
    unsafe.mkdir()
    unsafe.chmod(0o777)
    monkeypatch.setenv("LOUPE_SYSTEM_DIR", str(unsafe))
    with pytest.raises(EmbeddedUnavailable, match="must be owned by root and writable by no one else"):
        EmbeddedServers(private / "data").start(redis=False)
    assert list(unsafe.iterdir()) == []

    # The CLI prints that sentence alone, without a traceback.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOUPE_")} | {"LOUPE_SYSTEM_DIR": str(unsafe)}
    command = [sys.executable, "-m", "loupe", "workspace", "create", "X", "--data-dir", str(private / "cli")]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().endswith("set LOUPE_DATABASE_URL to a PostgreSQL server, or run as a non-root user.")

"""The one media store on S3-compatible object storage (a real S3 API: moto's server over HTTP): files
follow the transaction, are served by a signed, expiring URL, and the trash sweep removes them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import obstore
import pytest
from fastapi import UploadFile
from moto.server import ThreadedMotoServer
from obstore.store import S3Store
from sqlalchemy import text
from starlette.datastructures import Headers

from loupe.config import Settings
from loupe.kit.context import ProcessContext
from loupe.kit.errors import NotFound
from loupe.kit.media import MediaStore

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    httpx.put(f"{endpoint}/loupe-media").raise_for_status()  # the bucket
    yield endpoint
    server.stop()


@pytest.fixture
def store(s3: str, settings: Settings, tmp_path: Path) -> MediaStore:
    configured = settings.model_copy(
        update={
            "data_dir": tmp_path,
            "media_url": "s3://loupe-media",
            "media_options": {
                "endpoint": s3,
                "region": "us-east-1",
                "access_key_id": "test",
                "secret_access_key": "test",
                "allow_http": "true",
                "virtual_hosted_style_request": "false",
            },
        }
    )
    return MediaStore.of(configured)


def upload(data: bytes = PNG) -> UploadFile:
    return UploadFile(io.BytesIO(data), filename="story.png", headers=Headers({"content-type": "image/png"}))


async def exists(store: MediaStore, key: str) -> bool:
    assert isinstance(store.objects, S3Store)
    try:
        await obstore.head_async(store.objects, key)
    except FileNotFoundError:
        return False
    return True


async def test_committed_files_are_served_by_signed_url_and_swept(store: MediaStore, db: ProcessContext) -> None:
    async with db.sessionmaker() as session, session.begin():
        saved = await store.save(session, upload(), "image/png", "w/c")
    assert await exists(store, saved.path) and not list(store.root.rglob("*.png"))  # nothing left on disk
    response = await store.response(saved.path, "image/png")
    assert response.status_code == 307 and response.headers["x-content-type-options"] == "nosniff"
    signed = response.headers["location"]
    assert "X-Amz-Signature=" in signed and "X-Amz-Expires=300" in signed
    async with httpx.AsyncClient() as client:
        fetched = await client.get(signed)
    assert fetched.content == PNG and fetched.headers["content-type"] == "image/png"
    assert fetched.headers["content-disposition"] == "attachment"  # stored with the object, served by S3
    async with db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO media_trash (path) VALUES (:p)"), {"p": saved.path})
    assert await store.sweep_trash(db.sessionmaker) == 1
    assert not await exists(store, saved.path)
    with pytest.raises(NotFound):
        await store.response(saved.path, "image/png")


async def test_rolled_back_files_are_removed(store: MediaStore, db: ProcessContext) -> None:
    with pytest.raises(RuntimeError):
        async with db.sessionmaker() as session, session.begin():
            saved = await store.save(session, upload(), "image/png", "w/c")
            assert await exists(store, saved.path)
            raise RuntimeError("the request fails after the upload")
    assert not await exists(store, saved.path)

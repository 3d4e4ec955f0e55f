"""Media files (story media): type checked by declaration and by content, size bounded while streaming,
kept in one store behind one interface: a folder under data_dir by default, or S3-compatible object storage
(`LOUPE_MEDIA_URL=s3://bucket/prefix`, `LOUPE_MEDIA_OPTIONS` for endpoint and credentials, through obstore).
Served as a streamed file, or as a redirect to a signed URL that expires in 5 minutes; either way with
`X-Content-Type-Options: nosniff` and `Content-Disposition: attachment`.

Files follow the transaction that refers to them: a file written for a row is removed again unless the
transaction commits. Deleting a row that refers to a file (directly or by a cascade from its campaign,
influencer or workspace) puts the file's path into `media_trash` through a database trigger, in the same
transaction; `sweep_media_trash` removes those files afterwards. So no domain needs to know which other
domains keep files, and a crash between the commit and the unlink leaves a row to retry, not a stray file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import obstore
from fastapi import UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from obstore.store import ObjectStore, from_url
from sqlalchemy import String, delete, event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from loupe.config import Settings
from loupe.kit.db import Base
from loupe.kit.errors import NotFound, PayloadTooLarge, ValidationFailed

CHUNK = 1024 * 1024
CLIENT_OPTIONS = {"allow_http", "allow_invalid_certificates", "timeout", "connect_timeout", "proxy_url"}
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/heif": ".heif",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heif"}


# Browsers sniff up to 1,445 bytes of a resource for markup (WHATWG MIME Sniffing); we read as many.
SNIFF_BYTES = 1445
_MARKUP = re.compile(
    rb"<(?:!doctype|html|head|body|script|iframe|svg|object|embed|style|meta|link|form|\?xml)[\s/>]", re.IGNORECASE
)


def _looks_like(content_type: str, head: bytes) -> bool:
    """Magic-number check: the bytes must be what the declared type says (no HTML posing as a PNG), and the
    head must hold no markup a browser could be talked into rendering (a GIF header followed by HTML)."""
    return _magic_matches(content_type, head) and _MARKUP.search(head) is None


def _magic_matches(content_type: str, head: bytes) -> bool:
    box, brand = head[4:8], head[8:12]
    match content_type:
        case "image/jpeg":
            return head.startswith(b"\xff\xd8\xff")
        case "image/png":
            return head.startswith(b"\x89PNG\r\n\x1a\n")
        case "image/gif":
            return head.startswith((b"GIF87a", b"GIF89a"))
        case "image/webp":
            return head.startswith(b"RIFF") and head[8:12] == b"WEBP"
        case "image/heic" | "image/heif":
            return box == b"ftyp" and brand in _HEIF_BRANDS
        case "video/mp4":
            return box == b"ftyp" and brand not in _HEIF_BRANDS
        case "video/quicktime":
            return box in (b"ftyp", b"moov", b"mdat", b"wide", b"free")
        case "video/webm":
            return head.startswith(b"\x1a\x45\xdf\xa3")
    return False


class MediaTrash(Base):
    """Paths of files whose rows were deleted; filled by the `trash_media` trigger, emptied by the sweep."""

    __tablename__ = "media_trash"

    path: Mapped[str] = mapped_column(String(500), primary_key=True)


@dataclass(frozen=True)
class StoredMedia:
    path: str  # relative to the media root
    content_type: str
    size: int


@dataclass
class _PendingFiles:
    store: MediaStore
    written: list[str] = field(default_factory=list)  # removed unless the transaction commits


_PENDING = "loupe.media.pending"


def _pending(session: AsyncSession, store: MediaStore) -> _PendingFiles:
    sync = session.sync_session
    pending: _PendingFiles | None = sync.info.get(_PENDING)
    if pending is None:
        pending = sync.info[_PENDING] = _PendingFiles(store)
        event.listen(sync, "after_commit", _after_commit)
        event.listen(sync, "after_transaction_end", _after_transaction_end)
    return pending


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the outer transaction decides
    session.info[_PENDING].written.clear()


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    pending: _PendingFiles = session.info[_PENDING]
    for key in pending.written:  # still listed: the transaction ended without committing
        pending.store.remove(key)
    pending.written.clear()


class MediaStore:
    """Files live under `root` (a local folder) or in `objects` (an obstore object store); keys are the
    relative paths the rows keep."""

    SIGNED_FOR = timedelta(minutes=5)

    def __init__(self, root: Path, max_bytes: int, objects: ObjectStore | None = None) -> None:
        self.root = root  # also where uploads are spooled before they go to object storage
        self.max_bytes = max_bytes
        self.objects = objects

    @classmethod
    def of(cls, settings: Settings) -> MediaStore:
        objects = None
        if settings.media_url:
            options = dict(settings.media_options)
            client = {k: options.pop(k) for k in list(options) if k in CLIENT_OPTIONS}
            objects = from_url(settings.media_url, client_options=client or None, **options)  # type: ignore[misc,call-overload]
        return cls(settings.data_dir / "media", settings.media_max_bytes, objects)

    def check_type(self, upload: UploadFile) -> str:
        content_type = (upload.content_type or "").split(";")[0].strip().lower()
        if content_type not in EXTENSIONS:
            accepted = ", ".join(EXTENSIONS)
            raise ValidationFailed.on(
                "body.media", f"Content type '{content_type or 'none'}' is not accepted; send one of: {accepted}."
            )
        return content_type

    async def save(
        self, session: AsyncSession, upload: UploadFile, content_type: str, relative_dir: str
    ) -> StoredMedia:
        """Writes the file; it is removed again unless `session`'s transaction commits."""
        head = await upload.read(SNIFF_BYTES)
        if not _looks_like(content_type, head):
            raise ValidationFailed.on("body.media", f"The file's content is not {content_type}.")
        key = f"{relative_dir.strip('/')}/{uuid.uuid4()}{EXTENSIONS[content_type]}"
        target = self.root / key
        partial = target.with_suffix(target.suffix + ".part")
        size = len(head)
        if size > self.max_bytes:
            raise PayloadTooLarge(f"The media file exceeds {self.max_bytes} bytes.")
        # Disk writes go to a thread: a slow disk must not stall every other request of the process.
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        try:
            out = await asyncio.to_thread(partial.open, "wb")
            try:
                await asyncio.to_thread(out.write, head)
                while chunk := await upload.read(CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise PayloadTooLarge(f"The media file exceeds {self.max_bytes} bytes.")
                    await asyncio.to_thread(out.write, chunk)
            finally:
                await asyncio.to_thread(out.close)
            if self.objects is not None:
                attributes = {"Content-Type": content_type, "Content-Disposition": "attachment"}
                await obstore.put_async(self.objects, key, partial, attributes=attributes)  # type: ignore[arg-type]
            else:
                await asyncio.to_thread(os.replace, partial, target)
        finally:
            partial.unlink(missing_ok=True)
        _pending(session, self).written.append(key)
        return StoredMedia(key, content_type, size)

    def remove(self, key: str) -> None:
        if self.objects is None:
            self.path_of(key).unlink(missing_ok=True)
            return
        with contextlib.suppress(FileNotFoundError):
            obstore.delete(self.objects, key)

    async def sweep_trash(self, sessionmaker: async_sessionmaker[AsyncSession], batch: int = 500) -> int:
        """Removes the files of deleted rows; returns how many. Safe to run anywhere, any number of times:
        rows are claimed with SKIP LOCKED and deleted only after their files are gone."""
        removed = 0
        while True:
            async with sessionmaker() as session, session.begin():
                claimed = await session.scalars(
                    select(MediaTrash.path).order_by(MediaTrash.path).limit(batch).with_for_update(skip_locked=True)
                )
                paths = list(claimed)
                for relative in paths:
                    self.remove(relative)
                if paths:
                    await session.execute(delete(MediaTrash).where(MediaTrash.path.in_(paths)))
            removed += len(paths)
            if len(paths) < batch:
                return removed

    def path_of(self, relative: str) -> Path:
        return self.root / relative

    async def response(self, key: str, content_type: str) -> Response:
        """The file itself (local) or a redirect to a signed, expiring URL (object storage, which serves the
        attributes stored with the object); never sniffed, always a download, never rendered in our origin."""
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300"}
        if self.objects is None:
            path = self.path_of(key)
            if not path.is_file():
                raise NotFound("The media file is missing from storage.")
            headers["Content-Disposition"] = f'attachment; filename="{path.name}"'
            return FileResponse(path, media_type=content_type, headers=headers)
        try:
            await obstore.head_async(self.objects, key)
        except FileNotFoundError as exc:
            raise NotFound("The media file is missing from storage.") from exc
        url = await obstore.sign_async(self.objects, "GET", key, self.SIGNED_FOR)  # type: ignore[call-overload]
        return RedirectResponse(str(url), status_code=307, headers=headers)


async def sweep_media(ctx: dict[str, Any]) -> dict[str, int]:
    """Worker job (every minute): removes the files of deleted stories."""
    process = ctx["process"]
    return {"removed": await process.media.sweep_trash(process.sessionmaker)}

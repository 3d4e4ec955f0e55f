"""Story media on disk: type checked by declaration and by content, size bounded while streaming."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from fastapi import UploadFile

from loupe.kit.errors import PayloadTooLarge, ValidationFailed

CHUNK = 1024 * 1024
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


def _looks_like(content_type: str, head: bytes) -> bool:
    """Magic-number check: the bytes must be what the declared type says (no HTML posing as a PNG)."""
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


@dataclass(frozen=True)
class StoredMedia:
    path: str  # relative to the media root
    content_type: str
    size: int


class MediaStore:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def check_type(self, upload: UploadFile) -> str:
        content_type = (upload.content_type or "").split(";")[0].strip().lower()
        if content_type not in EXTENSIONS:
            accepted = ", ".join(EXTENSIONS)
            raise ValidationFailed.on(
                "body.media", f"Content type '{content_type or 'none'}' is not accepted; send one of: {accepted}."
            )
        return content_type

    async def save(self, upload: UploadFile, content_type: str, relative_dir: str) -> StoredMedia:
        head = await upload.read(16)
        if not _looks_like(content_type, head):
            raise ValidationFailed.on("body.media", f"The file's content is not {content_type}.")
        final = Path(relative_dir) / f"{uuid.uuid4()}{EXTENSIONS[content_type]}"
        target = self.root / final
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".part")
        size = len(head)
        try:
            with partial.open("wb") as out:
                out.write(head)
                while chunk := await upload.read(CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise PayloadTooLarge(f"The media file exceeds {self.max_bytes} bytes.")
                    out.write(chunk)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return StoredMedia(str(final), content_type, size)

    def path_of(self, relative: str) -> Path:
        return self.root / relative

    def discard(self, relative: str) -> None:
        (self.root / relative).unlink(missing_ok=True)

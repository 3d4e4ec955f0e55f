"""`POST /v1/influencers/import`: a CSV of influencers (name, email, tags, one column per platform) read by
the same reader as the invite file, validated whole: every bad line named, nothing created on error."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from loupe.connectors.platforms import PLATFORMS, Platform
from loupe.influencers.handles import BadHandle, parse_profile
from loupe.influencers.schemas import normalise_tags
from loupe.kit import csvfile

OPTIONAL = ["email", "tags", *PLATFORMS]
SAMPLE = (
    "name,email,tags,instagram,tiktok,youtube\r\n"
    "Ada Lovelace,ada@example.com,vip;beauty,@ada.codes,tiktok.com/@ada.codes,youtube.com/@adacodes\r\n"
)


@dataclass
class ImportRow:
    line: int
    name: str
    email: str | None
    tags: list[str]
    profiles: list[tuple[str, str, str | None]] = field(default_factory=list)  # platform, handle, user id


def parse(data: bytes) -> tuple[list[ImportRow], csvfile.Sheet]:
    """The rows, and the sheet holding the problems found (the caller adds the workspace's, then raises)."""
    sheet = csvfile.read(data, required=["name"], optional=OPTIONAL, what="influencers")
    rows: list[ImportRow] = []
    seen: dict[str, int] = {}
    for line, cells in sheet.rows:
        name, email = cells["name"], cells.get("email") or None
        if not name:
            sheet.refuse(line, "name", "Field required")
        elif len(name) > 200:
            sheet.refuse(line, "name", "At most 200 characters.")
        if email:
            reason = csvfile.check_email(email)
            if reason is None and email.lower() in seen:
                reason = f"Duplicate of line {seen[email.lower()]} in this file."
            if reason:
                sheet.refuse(line, "email", reason)
            seen.setdefault(email.lower(), line)
        try:
            tags = normalise_tags([t for t in re.split(r"[;,|]", cells.get("tags", "")) if t.strip()])
        except ValueError as exc:
            sheet.refuse(line, "tags", str(exc))
            tags = []
        row = ImportRow(line, name, email, tags)
        for platform in PLATFORMS:
            value = cells.get(platform)
            if not value:
                continue
            try:
                parsed = parse_profile(value, Platform(platform))
            except BadHandle as exc:
                sheet.refuse(line, platform, str(exc))
                continue
            if parsed.platform.value != platform:
                sheet.refuse(line, platform, f"a {parsed.platform.value} profile in the {platform} column")
                continue
            row.profiles.append((platform, parsed.handle, parsed.channel_id))
        rows.append(row)
    return rows, sheet

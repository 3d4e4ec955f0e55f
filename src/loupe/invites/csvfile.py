"""The bulk invite file: `name,email` CSV read by `kit.csvfile`, validated whole."""

from __future__ import annotations

from dataclasses import dataclass

from loupe.kit import csvfile
from loupe.kit.csvfile import check_email

MAX_BYTES = csvfile.MAX_BYTES
__all__ = ["HEADER", "MAX_BYTES", "SAMPLE", "Row", "check_email", "parse"]
HEADER = ["name", "email"]
SAMPLE = "name,email\r\nAda Lovelace,ada@example.com\r\nGrace Hopper,grace@example.com\r\n"


@dataclass(frozen=True)
class Row:
    line: int
    name: str
    email: str


def parse(data: bytes) -> list[Row]:
    """Every row, or a problem: 415 when not UTF-8, 422 for a wrong header or each bad row (by its line in
    the file, the header being line 1). Duplicates inside the file are bad rows too."""
    sheet = csvfile.read(data, required=HEADER, what="invites", exact=True)
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for line, cells in sheet.rows:
        name, email = cells["name"], cells["email"]
        if not name:
            sheet.refuse(line, "name", "Field required")
        elif len(name) > 200:
            sheet.refuse(line, "name", "At most 200 characters.")
        if not email:
            sheet.refuse(line, "email", "Field required")
            continue
        reason = check_email(email) or (
            f"Duplicate of line {seen[email.lower()]} in this file." if email.lower() in seen else None
        )
        if reason:
            sheet.refuse(line, "email", reason)
            continue
        seen[email.lower()] = line
        if name:
            rows.append(Row(line, name, email))
    sheet.raise_errors("invites")
    return rows

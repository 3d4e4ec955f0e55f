"""The bulk invite file: `name,email` CSV, UTF-8 (BOM or not), CRLF or LF, validated whole."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from loupe.kit.errors import FieldError, UnsupportedMediaType, ValidationFailed

MAX_BYTES = 2 * 1024 * 1024
HEADER = ["name", "email"]
SAMPLE = "name,email\r\nAda Lovelace,ada@example.com\r\nGrace Hopper,grace@example.com\r\n"


@dataclass(frozen=True)
class Row:
    line: int
    name: str
    email: str


def check_email(value: str) -> str | None:
    """The reason `value` is not an email address, or None."""
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"value is not a valid email address: {exc}"
    return None


def parse(data: bytes) -> list[Row]:
    """Every row, or a problem: 415 when not UTF-8, 422 for a wrong header or each bad row (by its line in
    the file, the header being line 1). Duplicates inside the file are bad rows too."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedMediaType(
            f"The file is not UTF-8 text (byte {exc.start} cannot be decoded); save it as CSV UTF-8."
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or [cell.strip().lower() for cell in header] != HEADER:
        raise ValidationFailed.on(
            "file", "The file is not a CSV of invites: its first line must be the header `name,email`."
        )
    rows: list[Row] = []
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank lines (a trailing newline, an empty line) are not rows
        if len(cells) > 2:
            errors.append(FieldError(field=f"file.line.{line}", reason="The row has more than two columns."))
            continue
        padded = [*cells, "", ""]
        name, email = padded[0].strip(), padded[1].strip()
        if not name:
            errors.append(FieldError(field=f"file.line.{line}.name", reason="Field required"))
        elif len(name) > 200:
            errors.append(FieldError(field=f"file.line.{line}.name", reason="At most 200 characters."))
        if not email:
            errors.append(FieldError(field=f"file.line.{line}.email", reason="Field required"))
            continue
        reason = check_email(email)
        if reason:
            errors.append(FieldError(field=f"file.line.{line}.email", reason=reason))
            continue
        key = email.lower()
        if key in seen:
            errors.append(
                FieldError(field=f"file.line.{line}.email", reason=f"Duplicate of line {seen[key]} in this file.")
            )
            continue
        seen[key] = line
        if name:
            rows.append(Row(line, name, email))
    if errors:
        raise ValidationFailed(
            f"{len(errors)} problem(s) in the file; nothing was created. See `errors`.", errors=errors
        )
    if not rows:
        raise ValidationFailed.on("file", "The file has a header but no invites.")
    return rows

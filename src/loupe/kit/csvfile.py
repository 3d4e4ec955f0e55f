"""Reading an uploaded CSV validated whole: UTF-8 (BOM or not), CRLF or LF, a header naming the columns, and
every bad line named by its line in the file (the header is line 1) before anything is created."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from loupe.kit.errors import FieldError, PayloadTooLarge, UnsupportedMediaType, ValidationFailed

MAX_BYTES = 2 * 1024 * 1024


@dataclass
class Sheet:
    """The rows of a file (line number, cells by column) and the problems found so far."""

    rows: list[tuple[int, dict[str, str]]]
    errors: list[FieldError] = field(default_factory=list)

    def refuse(self, line: int, column: str | None, reason: str) -> None:
        self.errors.append(FieldError(field=f"file.line.{line}" + (f".{column}" if column else ""), reason=reason))

    def raise_errors(self, what: str) -> None:
        if self.errors:
            raise ValidationFailed(
                f"{len(self.errors)} problem(s) in the file; nothing was created. See `errors`.", errors=self.errors
            )
        if not self.rows:
            raise ValidationFailed.on("file", f"The file has a header but no {what}.")


def check_email(value: str) -> str | None:
    """The reason `value` is not an email address, or None."""
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"value is not a valid email address: {exc}"
    return None


def check_size(data: bytes, what: str) -> None:
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(f"The {what} file exceeds {MAX_BYTES} bytes.")


def read(
    data: bytes, *, required: Sequence[str], optional: Sequence[str] = (), what: str, exact: bool = False
) -> Sheet:
    """The file's rows; 415 when it is not UTF-8, 422 when the header lacks a required column or names an
    unknown one (with `exact`, when it is not the required columns in their order). Blank lines are not rows;
    a row with more cells than the header is a bad row."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedMediaType(
            f"The file is not UTF-8 text (byte {exc.start} cannot be decoded); save it as CSV UTF-8."
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [cell.strip().lower() for cell in next(reader, None) or []]
    known = [*required, *optional]
    unfit = not set(required) <= set(header) or not set(header) <= set(known) or len(set(header)) != len(header)
    if unfit or (exact and header != list(required)):
        expected = ",".join(required) + (f" (and any of {','.join(optional)})" if optional else "")
        raise ValidationFailed.on(
            "file", f"The file is not a CSV of {what}: its first line must be the header {expected}."
        )
    sheet = Sheet(rows=[])
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # a trailing newline, an empty line
        if len(cells) > len(header):
            sheet.refuse(line, None, f"The row has more than {len(header)} columns.")
            continue
        padded = [*cells, *[""] * (len(header) - len(cells))]
        sheet.rows.append((line, {name: value.strip() for name, value in zip(header, padded, strict=True)}))
    return sheet

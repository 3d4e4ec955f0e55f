"""What a tracking's terms are, and what a text is made of for matching them.

- A hashtag or mention is a whole tag: `#` or `@` followed by word characters (letters of any script
  with their marks, digits, underscore; mentions also dots and hyphens inside). Compared case-insensitively (Unicode
  casefold of the NFC form), accents kept: `#café` and `#cafe` are different tags on every platform.
- A keyword is one or more words. Text and keyword are folded the same way: casefolded, accents removed
  (NFKD without combining marks), every run of non-word characters (spaces, punctuation, emoji) made one
  space. A keyword matches when its folded words appear in the folded text as whole, consecutive words:
  `cafe` matches `Café!`, `spring sale` matches `Spring—sale 🌸`, `spring` does not match `springtime`.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

MAX_TERM = 100  # characters of a term as given
MAX_TERMS = 100  # per kind, per tracking
# ASCII bytes folded for words: upper case lowered, every byte that is not a letter, digit or _ a space.
_ASCII_FOLD = bytes(
    c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122 or c == 95) else 32 for c in range(256)
)
# The same for a UTF-8 text cut into words for the matcher's first look: bytes of other characters kept
# whole. A byte made a space is a character `fold_words` makes a space, so no ASCII run crosses it.
SPLIT_WORDS = bytes(c if c >= 128 else _ASCII_FOLD[c] for c in range(256))
_WORD = re.compile(r"\w+")
# The only characters whose case folding adds ASCII letters after NFKD (checked over every code point in
# tests/trackings/test_matcher.py): `projection` spells them out before dropping what is not ASCII.
FOLDS_TO_ASCII = "ßẞ"


@functools.cache
def _marks(first: int = 0, last: int = sys.maxunicode) -> str:
    """The ranges of every combining mark (categories Mn, Mc, Me: the accents NFKD splits off, the vowel
    signs of many scripts) between two code points, to put inside a regex class."""
    ranges: list[tuple[int, int]] = []
    for cp in range(first, last + 1):
        if unicodedata.category(chr(cp)).startswith("M"):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "".join(f"\\U{a:08x}-\\U{b:08x}" if a != b else f"\\U{a:08x}" for a, b in ranges)


@functools.cache
def _astral_marks() -> dict[int, None]:
    return dict.fromkeys(
        cp for cp in range(0x10000, sys.maxunicode + 1) if unicodedata.category(chr(cp)).startswith("M")
    )


@functools.cache
def _pattern(name: str) -> re.Pattern[str]:
    """Patterns that need the marks class (built on first use: it takes a moment)."""
    marks = _marks()
    return {
        # Marks of the BMP in one fast class; the few outside it (none among emoji) only where they may be.
        "bmp_marks": re.compile(f"[{_marks(0, 0xFFFF)}]+"),
        "astral_zone": re.compile("[\U00010000-\U0001efff\U000e0100-\U000e01ef]"),
        "tag": re.compile(rf"#([\w{marks}]+)"),
        "mention": re.compile(rf"@([\w.\-{marks}]*[\w{marks}])"),
        "tag_body": re.compile(rf"[\w{marks}]+"),
        "mention_body": re.compile(rf"[\w.\-{marks}]*[\w{marks}]"),
    }[name]


def fold_tag(tag: str) -> str:
    return tag.lower() if tag.isascii() else unicodedata.normalize("NFC", tag).casefold()


def fold_words(text: str) -> str:
    """The text as its folded words, each between single spaces, with a space at both ends: a keyword
    found in it as ` word ` is a whole word."""
    if text.isascii():
        return f" {' '.join(text.encode().translate(_ASCII_FOLD).decode().split())} "
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    folded = _pattern("bmp_marks").sub("", folded)
    if _pattern("astral_zone").search(folded):
        folded = folded.translate(_astral_marks())
    return f" {' '.join(_WORD.findall(folded))} "  # the words alone: fewer pieces than spaces put between them


def projection(text: str) -> str:
    """A cheap view of the text, all ASCII: every run of ASCII letters, digits and underscores of
    `fold_words(text)` is in it (accents and other scripts dropped, not turned into spaces). A keyword can
    only be in a text whose projection holds its longest ASCII run: the matcher's first, fast look."""
    if text.isascii():
        return text.lower()
    if "ß" in text or "ẞ" in text:
        text = text.replace("ß", "ss").replace("ẞ", "ss")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").lower().decode()


def ascii_runs(folded: str) -> list[str]:
    return re.findall(r"[a-z0-9_]+", folded)


def _tags(kind: str, text: str) -> set[str]:
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return {fold_tag(t) for t in _pattern(kind).findall(text)}


def tags_in(text: str) -> set[str]:
    return _tags("tag", text) if "#" in text else set()


def mentions_in(text: str) -> set[str]:
    return _tags("mention", text) if "@" in text else set()


class BadTerm(ValueError):
    """Why a term given for a tracking is refused."""


def normalise_hashtag(raw: str) -> str:
    tag = raw.strip().removeprefix("#")
    _check_length(raw, tag)
    if not _pattern("tag_body").fullmatch(tag):
        raise BadTerm("a hashtag is letters, digits or underscores after an optional #, without spaces")
    return fold_tag(tag)


def normalise_mention(raw: str) -> str:
    name = raw.strip().removeprefix("@")
    _check_length(raw, name)
    if not _pattern("mention_body").fullmatch(name) or name.startswith((".", "-")):
        raise BadTerm("a mention is a handle (letters, digits, underscores, dots, hyphens) after an optional @")
    return fold_tag(name)


def normalise_keyword(raw: str) -> str:
    _check_length(raw, raw.strip())
    words = fold_words(raw).strip()
    if not words:
        raise BadTerm("a keyword needs at least one letter or digit")
    return words


def _check_length(raw: str, body: str) -> None:
    if not body:
        raise BadTerm("blank")
    if len(raw.strip()) > MAX_TERM:
        raise BadTerm(f"longer than {MAX_TERM} characters")

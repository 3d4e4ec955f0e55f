"""One matcher for every active tracking's terms: which trackings a text matches, and by which terms.

Keywords go into one Aho-Corasick automaton (pyahocorasick) as ` folded words `, found in the text's
folded words in a single pass however many trackings there are; the spaces around each keyword make every
hit a whole-word hit. Hashtags and mentions are whole tags, so they are dictionary look-ups of the tags the
text holds. A text is matched in time proportional to its length plus its hits, not to the number of terms.

Reading a text exactly (case, accents, emoji and punctuation of every script, its tags) costs more than
the matching itself, so it is done only for texts that may match: a first automaton holds the longest
ASCII run of every term and looks at the text's cheap `projection`, which holds every such run of the
exactly folded text. Most texts end there. Each run knows the kinds of term it comes from (hashtag,
mention, keyword), so a text that may match is read only for those kinds. Terms without an ASCII letter or
digit cannot be looked for that way; while there are some, every text is read exactly.

No ASCII run of a folded text crosses an ASCII byte other than a letter, digit or `_`, so that first look
goes word by word: the text's UTF-8 bytes with ASCII letters lowered and every other ASCII byte made a space
(one `bytes.translate`), split at spaces (bytes of other characters stay whole). A caption's words are
mostly words seen before, and the matcher remembers those that hold no term's run (`clean`, a bounded set).
Only the other words are looked at, all in one pass; a text made of remembered words stops at a set look-up.
That look-up is most of what a text costs (about 2.5 µs for a 150-character caption): bytes are cheaper to
cut than strings, and lowering and punctuation made spaces leave fewer distinct words to remember.

Building is cheap (about 0.2 s for 50,000 terms, bench-matching's build_ms); the owner rebuilds when trackings change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import ahocorasick

from loupe.trackings.terms import SPLIT_WORDS, ascii_runs, fold_words, mentions_in, projection, tags_in

K = TypeVar("K", bound=Hashable)
HASHTAG, MENTION, KEYWORD = 1, 2, 4  # kinds of term, as bits
CLEAN_WORDS = 500_000  # remembered words; forgotten all at once when full (the frequent ones come back first)


@dataclass(frozen=True)
class Criteria(Generic[K]):
    """A tracking's terms, already normalised (see `terms`): hashtags and mentions without # or @."""

    key: K
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


@dataclass
class Matcher(Generic[K]):
    hashtags: dict[str, list[K]] = field(default_factory=dict)
    mentions: dict[str, list[K]] = field(default_factory=dict)
    keywords: list[tuple[str, list[K]]] = field(default_factory=list)
    automaton: ahocorasick.Automaton | None = None  # keywords, over fold_words(text)
    prefilter: ahocorasick.Automaton | None = None  # every term's longest ASCII run → its kinds, over projection
    every_kind: int = 0  # the kinds of term there are: read in every text while some term has no ASCII run
    read_every_text: bool = False
    clean: set[bytes] = field(default_factory=set)  # words (UTF-8, cut by SPLIT_WORDS) holding no term's run

    @classmethod
    def build(cls, trackings: Iterable[Criteria[K]]) -> Matcher[K]:
        hashtags: defaultdict[str, list[K]] = defaultdict(list)
        mentions: defaultdict[str, list[K]] = defaultdict(list)
        keywords: defaultdict[str, list[K]] = defaultdict(list)
        for tracking in trackings:
            for tag in set(tracking.hashtags):
                hashtags[tag].append(tracking.key)
            for name in set(tracking.mentions):
                mentions[name].append(tracking.key)
            for words in set(tracking.keywords):
                keywords[words].append(tracking.key)
        matcher = cls(dict(hashtags), dict(mentions), list(keywords.items()))
        if keywords:
            matcher.automaton = _automaton((f" {words} ", index) for index, (words, _) in enumerate(matcher.keywords))
        kinds: defaultdict[str, int] = defaultdict(int)  # a term's longest ASCII run → the kinds of term holding it
        for kind, terms in ((HASHTAG, hashtags), (MENTION, mentions), (KEYWORD, keywords)):
            for term in terms:
                kinds[max(ascii_runs(fold_words(term)), key=len, default="")] |= kind
                matcher.every_kind |= kind
        matcher.read_every_text = "" in kinds
        if kinds:
            matcher.prefilter = _automaton((run, kind) for run, kind in kinds.items() if run)
        return matcher

    @property
    def terms(self) -> int:
        return len(self.hashtags) + len(self.mentions) + len(self.keywords)

    def match(self, text: str | None) -> dict[K, list[str]]:
        """Tracking key → the terms of it that `text` holds (`#tag`, `@name`, `keyword`), each once."""
        prefilter = self.prefilter
        if not text or prefilter is None:
            return {}
        if self.read_every_text:
            kinds = self.every_kind
        else:
            words = text.encode("utf-8", "surrogatepass").translate(SPLIT_WORDS).split()
            if self.clean.issuperset(words):
                return {}  # every word is known to hold no term's ASCII run (most texts)
            kinds = self._kinds_in(prefilter, words)
        found: dict[K, list[str]] = {}
        for tag in tags_in(text) if kinds & HASHTAG else ():
            for key in self.hashtags.get(tag, ()):
                found.setdefault(key, []).append(f"#{tag}")
        for name in mentions_in(text) if kinds & MENTION else ():
            for key in self.mentions.get(name, ()):
                found.setdefault(key, []).append(f"@{name}")
        if self.automaton is not None and kinds & KEYWORD:
            for index in {index for _, index in self.automaton.iter(fold_words(text))}:
                words, keys = self.keywords[index]
                for key in keys:
                    found.setdefault(key, []).append(words)
        return found

    def _kinds_in(self, prefilter: ahocorasick.Automaton, words: list[bytes]) -> int:
        """The kinds of term whose ASCII run the words not known clean hold; remembers them if none."""
        new = [word for word in words if word not in self.clean]
        kinds = 0
        for _, kind in prefilter.iter(projection(b" ".join(new).decode("utf-8", "surrogatepass"))):
            kinds |= kind
        if not kinds:
            if len(self.clean) + len(new) > CLEAN_WORDS:
                self.clean.clear()
            self.clean.update(new)
        return kinds


def _automaton(words: Iterable[tuple[str, object]]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for word, value in words:
        automaton.add_word(word, value)
    automaton.make_automaton()
    return automaton

"""The matcher against a slow reference that follows the rules word by word, and the rules themselves
(000_*.txt: OR across terms, whole hashtags case-insensitively, keywords as whole words and phrases,
case- and accent-insensitively, across emoji and punctuation)."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from loupe.trackings.matcher import Criteria, Matcher
from loupe.trackings.terms import (
    FOLDS_TO_ASCII,
    BadTerm,
    ascii_runs,
    fold_words,
    normalise_hashtag,
    normalise_keyword,
    normalise_mention,
    projection,
)

# --- the reference: one character at a time, nothing clever -------------------------------------------


def _is_mark(char: str) -> bool:
    return unicodedata.category(char).startswith("M")


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def reference_words(text: str) -> list[str]:
    """Case folded, accents (combining marks) dropped, split at everything that is not a letter or digit."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    words, word = [], ""
    for char in folded:
        if _is_mark(char):
            continue
        if _is_word(char):
            word += char
        elif word:
            words.append(word)
            word = ""
    return [*words, word] if word else words


def reference_tags(text: str, sigil: str) -> set[str]:
    """What follows each sigil: word characters and marks (mentions: also dots and hyphens, not at the end)."""
    text = unicodedata.normalize("NFC", text)
    inner = ".-" if sigil == "@" else ""
    found = set()
    for start, char in enumerate(text):
        if char != sigil:
            continue
        body = ""
        for following in text[start + 1 :]:
            if not (_is_word(following) or _is_mark(following) or following in inner):
                break
            body += following
        body = body.rstrip(inner)
        if body:
            found.add(unicodedata.normalize("NFC", body).casefold())
    return found


def _contains(words: list[str], phrase: list[str]) -> bool:
    return any(words[i : i + len(phrase)] == phrase for i in range(len(words) - len(phrase) + 1))


def reference_match(trackings: list[Criteria[int]], text: str) -> dict[int, set[str]]:
    words, tags, mentions = reference_words(text), reference_tags(text, "#"), reference_tags(text, "@")
    found: dict[int, set[str]] = {}
    for tracking in trackings:
        terms = {f"#{tag}" for tag in tracking.hashtags if tag in tags}
        terms |= {f"@{name}" for name in tracking.mentions if name in mentions}
        terms |= {keyword for keyword in tracking.keywords if _contains(words, keyword.split(" "))}
        if terms:
            found[tracking.key] = terms
    return found


def as_sets(found: dict[int, list[str]]) -> dict[int, set[str]]:
    assert all(len(terms) == len(set(terms)) for terms in found.values()), "a term is reported twice"
    return {key: set(terms) for key, terms in found.items()}


# --- strategies: texts made of the words terms are made of, in every disguise --------------------------

PIECES = ["spring", "Spring", "SPRÎNG", "springtime", "café", "CAFE", "cafe\u0301", "crème", "brûlée", "straße",
          "STRASSE", "ß", "ẞ", "øl", "été", "2026", "happy", "Happy_Spring", "ada.codes", "ada", "codes", "中文",
          "नमस्ते", "½", "ﬁne", "ǅ", "İ", "x"]  # fmt: skip
GLUE = [" ", "  ", "#", "@", ".", "-", "_", "—", "🌸", "✨", "👩🏽‍🍳", ",", "!", "\n", "", "\u0301", "«", "'"]
pieces = st.sampled_from(PIECES) | st.sampled_from(GLUE) | st.text(max_size=3)
texts = st.lists(pieces, max_size=30).map("".join)
words = st.lists(st.sampled_from(PIECES) | st.text(min_size=1, max_size=4), min_size=1, max_size=3)


def _valid(normalise, raw: str) -> str | None:  # type: ignore[no-untyped-def]
    try:
        return normalise(raw)  # type: ignore[no-any-return]
    except BadTerm:
        return None


@st.composite
def criteria(draw: st.DrawFn, key: int) -> Criteria[int]:
    def terms(normalise, glue: str) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
        raws = draw(st.lists(words.map(glue.join), max_size=3))
        return tuple(term for raw in raws if (term := _valid(normalise, raw)))

    return Criteria(key, terms(normalise_hashtag, ""), terms(normalise_mention, "."), terms(normalise_keyword, " "))


trackings = st.integers(1, 4).flatmap(lambda n: st.tuples(*(criteria(key) for key in range(n)))).map(list)


def _texts_about(trackings: list[Criteria[int]]) -> st.SearchStrategy[str]:
    """Texts that often hold the trackings' own terms, written with other case and neighbours."""
    said = [f"#{t}" for c in trackings for t in c.hashtags] + [f"@{m}" for c in trackings for m in c.mentions]
    said += [k for c in trackings for k in c.keywords]
    written = st.sampled_from(said).map(str.upper) | st.sampled_from(said) if said else pieces
    return st.lists(pieces | written, max_size=30).map("".join)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trackings.flatmap(lambda ts: st.tuples(st.just(ts), _texts_about(ts))))
@example(([Criteria(0, hashtags=("happyspring",))], "Hello #HappySpring🌸"))
@example(([Criteria(0, keywords=("strasse",))], "Straße"))
@example(([Criteria(0, keywords=("1 2",))], "½"))
@example(([Criteria(0, mentions=("ada.codes",))], "@ada.codes."))
def test_the_matcher_finds_what_the_reference_finds(case: tuple[list[Criteria[int]], str]) -> None:
    trackings, text = case
    assert as_sets(Matcher.build(trackings).match(text)) == reference_match(trackings, text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trackings.flatmap(lambda ts: st.tuples(st.just(ts), st.lists(_texts_about(ts), min_size=2, max_size=8))))
def test_a_matcher_that_remembers_clean_words_still_finds_what_the_reference_finds(
    case: tuple[list[Criteria[int]], list[str]],
) -> None:
    """One matcher over many texts, as the refresh jobs use it: words it remembered from earlier texts as
    holding no term must not hide a term of a later one."""
    trackings, many = case
    matcher = Matcher.build(trackings)
    for text in [*many, *many]:
        assert as_sets(matcher.match(text)) == reference_match(trackings, text)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_the_projection_holds_every_ascii_run_of_the_folded_text(text: str) -> None:
    cheap = projection(text)
    assert all(run in cheap for run in ascii_runs(fold_words(text)))


def test_only_the_listed_characters_fold_to_ascii_letters_the_projection_would_lose() -> None:
    """Per code point: what the exact fold keeps as ASCII letters, the projection keeps too (it may merge
    runs, never lose a letter), except the characters `projection` spells out."""
    lost = []
    for cp in range(0x80, sys.maxunicode + 1):
        char = chr(cp)
        if 0xD800 <= cp <= 0xDFFF or char in FOLDS_TO_ASCII:
            continue
        if "".join(ascii_runs(fold_words(char))) != "".join(ascii_runs(projection(char))):
            lost.append(f"U+{cp:04X}")
    assert lost == []


# --- the rules as a user states them ------------------------------------------------------------------


def _terms(text: str, **criteria: tuple[str, ...]) -> list[str]:
    return sorted(Matcher.build([Criteria("t", **criteria)]).match(text).get("t", []))


def test_hashtags_match_whole_tags_case_insensitively() -> None:
    assert _terms("Sun is out! #HappySpring🌸", hashtags=("happyspring",)) == ["#happyspring"]
    assert _terms("#happyspring", hashtags=(normalise_hashtag("#HappySpring"),)) == ["#happyspring"]
    assert _terms("#HappySpringtime", hashtags=("happyspring",)) == []
    assert _terms("happyspring without the sign", hashtags=("happyspring",)) == []
    assert _terms("#café", hashtags=("cafe",)) == []  # a tag is its own word: accents count


def test_mentions_match_whole_handles() -> None:
    assert _terms("with @Ada.Codes.", mentions=("ada.codes",)) == ["@ada.codes"]
    assert _terms("with @ada.codes_fan", mentions=("ada.codes",)) == []
    assert _terms("email ada.codes@example.com", mentions=("ada.codes",)) == []


def test_keywords_match_whole_words_case_and_accent_insensitively() -> None:
    assert _terms("Best Café in town", keywords=("cafe",)) == ["cafe"]
    assert _terms("best cafe", keywords=(normalise_keyword("Café"),)) == ["cafe"]
    assert _terms("Springtime is here", keywords=("spring",)) == []
    assert _terms("SPRING!!!", keywords=("spring",)) == ["spring"]


def test_phrases_match_across_emoji_and_punctuation() -> None:
    assert _terms("Our Spring—Sale 🌸 starts", keywords=("spring sale",)) == ["spring sale"]
    assert _terms("spring🌸sale", keywords=("spring sale",)) == ["spring sale"]
    assert _terms("spring big sale", keywords=("spring sale",)) == []


def test_any_term_is_enough_and_every_matching_term_is_recorded() -> None:
    """The seed's example: #HappySpring, #EnjoyLife and the keyword Spring."""
    criteria = {"hashtags": ("happyspring", "enjoylife"), "keywords": ("spring",)}
    assert _terms("just #HappySpring", **criteria) == ["#happyspring"]
    assert _terms("#EnjoyLife today", **criteria) == ["#enjoylife"]
    assert _terms("what a spring", **criteria) == ["spring"]
    assert _terms("#HappySpring #EnjoyLife in spring", **criteria) == ["#enjoylife", "#happyspring", "spring"]
    assert _terms("nothing here", **criteria) == []


def test_one_matcher_answers_for_many_trackings() -> None:
    matcher = Matcher.build([Criteria(1, keywords=("cafe",)), Criteria(2, keywords=("cafe", "tea")), Criteria(3)])
    assert {k: sorted(v) for k, v in matcher.match("Café and tea").items()} == {1: ["cafe"], 2: ["cafe", "tea"]}
    assert Matcher.build([]).match("anything") == {}


def test_terms_without_ascii_letters_are_still_found() -> None:
    assert _terms("今日は 中文 です", keywords=(normalise_keyword("中文"),)) == ["中文"]
    assert _terms("#नमस्ते दुनिया", hashtags=(normalise_hashtag("नमस्ते"),)) == ["#नमस्ते"]


def test_a_lone_surrogate_does_not_stop_the_reading() -> None:
    """JSON may hand over a lone surrogate: the matcher's first look encodes the text, and must not fail."""
    assert _terms("\ud800Spring sale", keywords=("spring sale",)) == ["spring sale"]
    assert _terms("#spring\udfff", hashtags=("spring",)) == ["#spring"]


@pytest.mark.parametrize(
    ("normalise", "raw", "expected"),
    [
        (normalise_hashtag, "  #HappySpring ", "happyspring"),
        (normalise_hashtag, "Été2026", "été2026"),
        (normalise_mention, "@Ada.Codes", "ada.codes"),
        (normalise_keyword, "  Crème   Brûlée! ", "creme brulee"),
    ],
)
def test_terms_are_normalised(normalise, raw: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    ("normalise", "raw"),
    [
        (normalise_hashtag, "happy spring"),
        (normalise_hashtag, "#"),
        (normalise_hashtag, "#a-b"),
        (normalise_mention, "@.ada"),
        (normalise_mention, "@ada codes"),
        (normalise_keyword, "!!!"),
        (normalise_keyword, "x" * 101),
    ],
)
def test_bad_terms_are_refused(normalise, raw: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadTerm):
        normalise(raw)

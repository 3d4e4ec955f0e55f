"""Matching: 10,000 trackings with 50,000 terms against 1,000,000 synthetic captions, one process.

Captions are 3 to 300 words (median 18, a long tail: about 150 characters on average) of filler in
several languages with accents, emoji, punctuation, filler hashtags and mentions; about 2 % also carry a
tracked term (a hashtag, a mention or a keyword phrase written with other case, accents or punctuation).
Tracked terms are made-up words the filler never uses, so what matches is what was planted.

- ours: `Matcher.match` over every caption (one automaton and two dictionaries); the words it remembers
  as holding no term are forgotten before each round, so every round starts cold;
- naive: for every caption, the folded text once, then one compiled regex per tracking (its hashtags,
  mentions and keywords in one alternation with word boundaries), `search` for each of the 10,000.
  It is measured on a sample (NAIVE_SAMPLE captions per round) and scaled: a full pass would take hours.

Rounds alternate ours and naive; rates are medians over the rounds with min/max, per second of the
process's CPU time (the wall-clock rate is reported beside it: other work shares this machine). The naive loop's answer
is checked against ours on its sample (same trackings matched). Writes bench/results/matching.json.

    .venv/bin/python bench/matching_bench.py [--contents 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import re
import statistics
import time
from pathlib import Path
from typing import Any

from loupe.trackings.matcher import Criteria, Matcher
from loupe.trackings.terms import fold_tag, fold_words, normalise_hashtag, normalise_keyword, normalise_mention

RESULTS = Path(__file__).parent / "results" / "matching.json"
TRACKINGS = 10_000
TERMS = 50_000
MATCH_SHARE = 0.02
NAIVE_SAMPLE = 300

FILLER = (  # noqa: SIM905 (a sentence is easier to read than a list of words)
    "the a of and to in is it my with for this on today love new look so day time best just like really "
    "été crème café naïve façade über straße niño coração français déjà vu jalapeño smörgåsbord "
    "photo story weekend morning coffee city walk friends family summer winter light music food "
    "très bien merci muito obrigado gracias mañana noche plage montagne ciudad fiesta"
).split()
EMOJI = ["✨", "🌸", "🔥", "😍", "☕", "🎉", "💛", "🙌", "📸", "👀", "🇫🇷", "👩🏽‍🍳"]
PUNCT = ["", "", "", ",", ".", "!", "?", " —", "…", ":"]
# Syllables of made-up brand words (the filler never spells them): 40**3 words of three syllables.
SYLLABLES = [c + v for c in "bdfgkmprstvxz" for v in ("a", "é", "o")] + ["qui"]


def made_up(r: random.Random, syllables: int) -> str:
    return "".join(r.choice(SYLLABLES) for _ in range(syllables))


def build_trackings(r: random.Random) -> list[Criteria[int]]:
    """10,000 trackings, 5 terms each on average (2 hashtags, 1 mention, 2 keywords of 1 to 3 words)."""
    trackings = []
    for key in range(TRACKINGS):
        hashtags = tuple(normalise_hashtag(made_up(r, 3) + str(r.randrange(1000))) for _ in range(2))
        mentions = (normalise_mention(made_up(r, 3) + "_" + made_up(r, 2)),)
        keywords = tuple(normalise_keyword(" ".join(made_up(r, 3) for _ in range(r.randint(1, 3)))) for _ in range(2))
        trackings.append(Criteria(key, hashtags, mentions, keywords))
    return trackings


def disguise(r: random.Random, text: str) -> str:
    """How a creator writes a term: other case, and sometimes accents on plain vowels."""
    out = text.upper() if r.random() < 0.3 else text.title() if r.random() < 0.5 else text
    if r.random() < 0.3:
        out = out.replace("e", "é").replace("a", "à")
    return out


def caption(r: random.Random, trackings: list[Criteria[int]]) -> str:
    words = []
    for _ in range(max(3, min(300, round(r.lognormvariate(math.log(18), 0.7))))):
        word = r.choice(FILLER)
        roll = r.random()
        if roll < 0.08:
            word = r.choice(EMOJI)
        elif roll < 0.12:
            word = "#" + word + r.choice(FILLER)
        elif roll < 0.13:
            word = "@" + word + "_" + r.choice(FILLER)
        words.append(word + r.choice(PUNCT))
    if r.random() < MATCH_SHARE:
        tracking = r.choice(trackings)
        kind = r.randrange(3)
        if kind == 0:
            term = "#" + disguise(r, r.choice(tracking.hashtags)) + r.choice(EMOJI)
        elif kind == 1:
            term = "@" + r.choice(tracking.mentions) + r.choice(["", ".", "!"])
        else:
            term = r.choice(["", "«", "("]) + disguise(r, r.choice(tracking.keywords)).replace(
                " ", r.choice([" ", "-", " 🌸 "])
            )
        words.insert(r.randrange(len(words) + 1), term)
    return " ".join(words)


class Naive:
    """One regex per tracking over the folded text (folded once per caption, as any implementation would)."""

    def __init__(self, trackings: list[Criteria[int]]) -> None:
        self.patterns = []
        for t in trackings:
            parts = [rf"#{re.escape(tag)}(?!\w)" for tag in t.hashtags]
            parts += [rf"@{re.escape(name)}(?![\w.-]*\w)" for name in t.mentions]
            parts += [rf"(?<!\w){re.escape(words)}(?!\w)" for words in t.keywords]
            self.patterns.append((t.key, re.compile("|".join(parts))))

    def match(self, text: str) -> set[int]:
        tags = " ".join(f"#{fold_tag(tag)}" for tag in re.findall(r"#(\w+)", text))
        names = " ".join(f"@{fold_tag(n)}" for n in re.findall(r"@([\w.-]*\w)", text))
        folded = f"{tags} {names} {fold_words(text)}"
        return {key for key, pattern in self.patterns if pattern.search(folded)}


def run(contents: int, rounds: int) -> dict[str, Any]:
    load_at_start = round(os.getloadavg()[0], 2)
    r = random.Random(2026)
    trackings = build_trackings(r)
    started = time.perf_counter()
    matcher = Matcher.build(trackings)
    build_s = time.perf_counter() - started
    captions = [caption(r, trackings) for _ in range(contents)]
    naive = Naive(trackings)
    sample = captions[:NAIVE_SAMPLE]
    ours_rates, naive_rates, ours_wall, matched = [], [], [], 0
    for _ in range(rounds):
        matcher.clean.clear()  # every round starts without the words the last one remembered
        started, wall = time.process_time(), time.perf_counter()
        matched = sum(1 for text in captions if matcher.match(text))
        ours_rates.append(contents / (time.process_time() - started))
        ours_wall.append(contents / (time.perf_counter() - wall))
        started = time.process_time()
        naive_answers = [naive.match(text) for text in sample]
        naive_rates.append(len(sample) / (time.process_time() - started))
    disagreements = sum(1 for text, keys in zip(sample, naive_answers, strict=True) if set(matcher.match(text)) != keys)
    ours, slow = statistics.median(ours_rates), statistics.median(naive_rates)
    return {
        "contents": contents,
        "trackings": TRACKINGS,
        "terms": sum(len(t.hashtags) + len(t.mentions) + len(t.keywords) for t in trackings),
        "distinct_terms": matcher.terms,
        "contents_per_s": round(ours),
        "contents_per_s_min": round(min(ours_rates)),
        "contents_per_s_max": round(max(ours_rates)),
        "contents_per_s_wall": round(statistics.median(ours_wall)),
        "naive_contents_per_s": round(slow, 1),
        "naive_contents_per_s_min": round(min(naive_rates), 1),
        "naive_contents_per_s_max": round(max(naive_rates), 1),
        "ratio": round(ours / slow, 1),
        "rounds": rounds,
        "naive_sample": len(sample),
        "naive_scaled_from_sample": True,
        "naive_disagreements_on_sample": disagreements,
        "matched_contents": matched,
        "matched_share": round(matched / contents, 4),
        "mean_caption_chars": round(sum(map(len, captions)) / contents),
        "build_ms": round(build_s * 1000, 1),
        "goal": {"contents_per_s": 200_000, "ratio": 50},
        "clock": "process CPU time (the matcher is single-threaded and CPU-bound; the machine is shared)",
        "load_average": round(os.getloadavg()[0], 2),  # 1 minute, at the end; other work shares the machine
        "load_average_at_start": load_at_start,
        "machine": f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contents", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = run(args.contents, args.rounds)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

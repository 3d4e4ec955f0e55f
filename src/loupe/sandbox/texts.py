"""The words of the sandbox world: names, hashtags, mentions, phrases with accents, places, and the
captions built from them (kept apart from the world's structure in world.py)."""

from __future__ import annotations

import random
import re
import unicodedata

FIRST = ["Léa", "Zoë", "João", "Amélie", "Sofia", "Mateo", "Chloé", "Noah", "Aïcha", "Liam", "Yuki", "Ingrid"]
LAST = [
    "Dubois",
    "Martín",
    "Silva",
    "Laurent",
    "Rossi",
    "García",
    "Bernard",
    "Müller",
    "Benali",
    "O'Connor",
    "Tanaka",
    "Søndergaard",
]
HASHTAGS = [
    "#HappySpring",
    "#HappySpringtime",
    "#ootd",
    "#café",
    "#crèmebrûlée",
    "#été2026",
    "#Noël",
    "#ad",
    "#LoupeLaunch",
    "#fitness",
    "#travel",
    "#skincare",
    "#GlowUp",
    "#SummerSale",
]
MENTIONS = ["@loupe_brand", "@cafe_creme", "@maison_elan", "@nordicwear", "@glowlab", "@urbanbrew"]
PHRASES = [
    "crème brûlée",
    "summer sale",
    "new collection",
    "São Paulo",
    "Fête de la Musique",
    "back to school",
    "limited edition",
    "café au lait",
    "skin care routine",
    "Zürich",
    "naïve art",
    "Happy Spring",
]
OPENERS = [
    "Loving this",
    "Can't stop thinking about",
    "Finally trying",
    "Weekend vibes with",
    "Guess what:",
    "Quick review of",
    "Behind the scenes of",
    "Day 3 of",
]
COUNTRIES = ["US", "GB", "FR", "BR", "DE", "ES", "IT", "CA", "MX", "IN", "JP", "PT", "NL", "SE", "AU", "CH"]
CITIES = [
    "London, England",
    "Manchester, England",
    "Paris, Île-de-France",
    "Lyon, Auvergne-Rhône-Alpes",
    "São Paulo, São Paulo (state)",
    "Rio de Janeiro, Rio de Janeiro (state)",
    "New York, New York",
    "Los Angeles, California",
    "Berlin, Berlin",
    "Madrid, Comunidad de Madrid",
    "Barcelona, Catalonia",
    "Milan, Lombardy",
    "Toronto, Ontario",
    "Montréal, Quebec",
    "Zürich, Zurich",
    "Lisbon, Lisbon District",
    "Tokyo, Tokyo",
    "Mexico City, Distrito Federal",
]
AGES = ["13-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"]


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_text.lower())


def caption(r: random.Random, platform: str) -> str:
    words = [r.choice(OPENERS), r.choice(PHRASES)]
    if r.random() < 0.5:
        words.append(f"in {r.choice(['São Paulo', 'Zürich', 'Montréal', 'Paris', 'London'])}")
    text = " ".join(words) + r.choice(["!", ".", " ✨", " — thoughts?"])
    if r.random() < 0.6:
        text += f" with {r.choice(MENTIONS)}"
    tags = r.sample(HASHTAGS, r.randrange(1, 4))
    text += " " + " ".join(tags)
    return text[:270] if platform == "twitter" else text

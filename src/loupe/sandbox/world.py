"""Deterministic synthetic world built from a seed.

Feeds are *lazy*: item k of an account is published at `anchor + k * cadence + jitter(k)` and its
content is a pure function of (seed, account, k), so the world builds in milliseconds, new posts and
stories keep appearing as the sandbox clock moves, and an item id always decodes back to its item.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from dataclasses import dataclass, field

from loupe.connectors.platforms import PLATFORMS

from .texts import AGES, CITIES, COUNTRIES, FIRST, LAST, caption, slug

DAY = 86400.0
STORY_LIFETIME = DAY
SEQ_ZERO = 500_000  # seq = k + SEQ_ZERO keeps encoded ids positive for historic items
PUBLISHED_BASE = 900_000  # seqs of items published through the admin surface


# Instagram layout per creator index: (account_type, linked_to_page, history_posts, followers or None).
# Fixed on purpose so tests and demos can count on each case existing whatever the seed.
IG_LAYOUT: list[list[tuple[str, bool, int, int | None]]] = [
    [("BUSINESS", True, 130, None)],
    [("BUSINESS", True, 110, None), ("MEDIA_CREATOR", True, 40, None)],
    [("MEDIA_CREATOR", True, 35, None)],
    [("PERSONAL", False, 25, None)],  # personal account; the creator has a Page without IG link
    [("MEDIA_CREATOR", False, 30, None)],  # professional, no Facebook Page at all
    [("BUSINESS", True, 60, None)],
    [("BUSINESS", True, 50, None), ("BUSINESS", True, 20, None), ("MEDIA_CREATOR", False, 12, None)],
    [("MEDIA_CREATOR", True, 18, 80)],  # under 100 followers: no demographics
    [("BUSINESS", True, 45, None)],
    [("PERSONAL", False, 15, None)],  # personal account and no Page
    [("MEDIA_CREATOR", True, 28, None)],
    [("BUSINESS", True, 33, None)],
]
UNLINKED_PAGE_CREATORS = {0, 3}  # creators owning a Page that has no instagram_business_account
NO_CHANNEL_CREATORS = {11}  # a Google account without a YouTube channel
BIG_FEEDS = {"tiktok": 70, "youtube": 120, "twitter": 250, "twitch": 60, "facebook": 110}


def frac(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) for any key (cheaper than seeding a Random)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def rng(*parts: object) -> random.Random:
    return random.Random("|".join(map(str, parts)))


@dataclass
class Audience:
    countries: list[tuple[str, float]]
    cities: list[tuple[str, float]]
    ages: list[tuple[str, float]]
    genders: list[tuple[str, float]]  # F / M / U


@dataclass(eq=False)
class Account:
    platform: str
    id: str
    num: int
    username: str
    name: str
    creator_id: str
    followers: int
    follower_growth: float  # new followers per day
    following: int
    cadence: float  # seconds between scheduled posts
    history: int  # posts published before the anchor
    created_at: float
    audience_: Audience | None  # None: drawn on first use from `audience_key` (big worlds build faster)
    story_period: float | None = None
    account_type: str = ""  # instagram: BUSINESS | MEDIA_CREATOR | PERSONAL
    page_id: str | None = None  # instagram: linked Facebook Page
    ig_id: str | None = None  # facebook page: linked professional IG account
    fb_user_id: str | None = None
    has_channel: bool = True  # youtube
    secondary: str = ""  # youtube uploads playlist id / extra handle
    audience_key: str = ""

    @property
    def audience(self) -> Audience:
        if self.audience_ is None:
            self.audience_ = World.draw_audience(rng(self.audience_key))
        return self.audience_

    def followers_at(self, now: float, anchor: float) -> int:
        return max(0, int(self.followers + self.follower_growth * (now - anchor) / DAY))

    def flags(self) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.id,
            "username": self.username,
            "name": self.name,
            "creator": self.creator_id,
        }
        if self.platform == "instagram":
            out.update(
                account_type=self.account_type,
                professional=self.account_type != "PERSONAL",
                page_id=self.page_id,
                linked_page=self.page_id is not None,
                has_stories=self.story_period is not None,
            )
        if self.platform == "facebook":
            out.update(instagram_business_account=self.ig_id, fb_user_id=self.fb_user_id)
        if self.platform == "youtube":
            out.update(has_channel=self.has_channel, uploads_playlist=self.secondary or None)
        out["followers"] = self.followers
        out["history_items"] = self.history
        return out


@dataclass(eq=False)
class Creator:
    id: str
    name: str
    fb_user_id: str
    accounts: dict[str, list[Account]] = field(default_factory=dict)


@dataclass(frozen=True)
class Item:
    id: str
    platform: str
    account_id: str
    seq: int
    kind: str  # IMAGE | VIDEO | CAROUSEL_ALBUM | STORY | post | video | short | tweet | archive ...
    published_at: float
    text: str
    title: str = ""
    duration: int = 0  # seconds, for videos
    potential: int = 0  # eventual views
    like_ratio: float = 0.05
    comment_ratio: float = 0.004
    share_ratio: float = 0.002
    save_ratio: float = 0.003
    tau: float = DAY  # growth time constant
    children: int = 0  # carousel children

    def child_ids(self) -> list[str]:
        """An album's children: its id plus one index digit (at most 10 children, as on Instagram)."""
        return [f"{self.id}{n}" for n in range(self.children)]

    def metrics(self, now: float) -> dict[str, int]:
        """Metrics grow towards `potential` as a pure function of the item's age."""
        age = max(0.0, now - self.published_at)
        views = int(self.potential * (1 - math.exp(-age / self.tau)))
        reach = int(views * 0.72)
        return {
            "views": views,
            "reach": reach,
            "likes": int(views * self.like_ratio),
            "comments": int(views * self.comment_ratio),
            "shares": int(views * self.share_ratio),
            "saves": int(views * self.save_ratio),
            "follows": int(views * 0.0011),
            "profile_visits": int(views * 0.009),
            "replies": int(views * 0.003),
            "link_clicks": int(views * 0.006),
            "quotes": int(views * 0.0008),
            "bookmarks": int(views * 0.0015),
        }


class World:
    """`size` creators (default 12, the fixed layouts): creator i takes the layout of creator i % 12, so a
    big world (`loupe sandbox --world-size 5000`) has every case in the same proportions. Only the accounts
    are built up front (a few microseconds each); feeds and items stay lazy."""

    def __init__(self, seed: int, anchor: float, size: int = len(IG_LAYOUT)) -> None:
        if size < 1:
            raise ValueError("a world has at least one creator")
        self.seed = seed
        self.anchor = anchor  # start of the UTC day the sandbox was built: stable across restarts
        self.size = size
        self.creators: list[Creator] = []
        self._creators: dict[str, Creator] = {}
        self.accounts: dict[str, dict[str, Account]] = {p: {} for p in PLATFORMS}
        self.by_num: dict[int, Account] = {}
        self.fb_users: dict[str, Creator] = {}
        self.published: dict[tuple[str, str], list[Item]] = {}
        self._published_ids: dict[str, Item] = {}
        self._cache: dict[tuple[str, int, str], Item] = {}
        self._build()

    # ----- construction -----
    def _build(self) -> None:
        names = [f"{f} {la}" for f, la in zip(FIRST, LAST, strict=True)]
        rng(self.seed, "names").shuffle(names)
        for i in range(self.size):
            r = rng(self.seed, "creator", i)
            layout = i % len(IG_LAYOUT)  # the first 12 are the fixed cases; beyond, they come round again
            if i < len(names):
                name, base = names[i], slug(names[i])
            else:  # a mixed first and last name; the number keeps handles unique
                name = f"{FIRST[r.randrange(len(FIRST))]} {LAST[r.randrange(len(LAST))]}"
                base = f"{slug(name)}{i + 1}"
            creator = Creator(id=f"creator-{i + 1:02d}", name=name, fb_user_id=f"10{i:03d}{r.randrange(10**9):09d}")
            self.fb_users[creator.fb_user_id] = creator
            self._creators[creator.id] = creator
            for n, (kind, linked, history, followers) in enumerate(IG_LAYOUT[layout]):
                ig = self._account(
                    creator, "instagram", f"{base}{'' if n == 0 else f'.{n + 1}'}", history, followers=followers
                )
                ig.account_type = kind
                ig.story_period = None if kind == "PERSONAL" else 3600 * (4 + 6 * frac(self.seed, ig.id))
                if linked:
                    page = self._account(creator, "facebook", f"{base}page{n + 1}", 20 + r.randrange(30))
                    page.name = f"{name}{'' if n == 0 else f' ({n + 1})'}"
                    page.ig_id, ig.page_id = ig.id, page.id
            if layout in UNLINKED_PAGE_CREATORS:
                self._account(creator, "facebook", f"{base}studio", BIG_FEEDS["facebook"] if i == 0 else 15)
            for platform in ("tiktok", "youtube", "twitter", "twitch"):
                history = BIG_FEEDS[platform] if i == 0 else 10 + r.randrange(40)
                acct = self._account(creator, platform, base + ("tv" if platform == "twitch" else ""), history)
                if platform == "youtube":
                    acct.has_channel = layout not in NO_CHANNEL_CREATORS
                    acct.history = acct.history if acct.has_channel else 0
                    acct.secondary = "UU" + acct.id[2:] if acct.has_channel else ""
            self.creators.append(creator)

    def _account(
        self, creator: Creator, platform: str, username: str, history: int, followers: int | None = None
    ) -> Account:
        num = len(self.by_num)
        r = rng(self.seed, "account", num)
        digest = hashlib.sha256(f"{self.seed}:{num}".encode()).hexdigest()
        ident = {
            "instagram": f"178414{num:03d}{r.randrange(10**8):08d}",
            "facebook": f"1{num:03d}{r.randrange(10**11):011d}",
            "tiktok": f"-000{digest[:28]}",
            "youtube": f"UC{digest[:22]}",
            "twitter": f"1{num:03d}{r.randrange(10**15):015d}",
            "twitch": f"{4 + num % 5}{num:03d}{r.randrange(10**5):05d}",
        }[platform]
        if followers is None:
            followers = int(math.exp(r.uniform(math.log(2_000), math.log(1_500_000))))
        acct = Account(
            platform=platform,
            id=ident,
            num=num,
            username=username,
            name=creator.name,
            creator_id=creator.id,
            followers=followers,
            follower_growth=followers * r.uniform(0.0005, 0.004),
            following=r.randrange(50, 1500),
            cadence=3600 * r.uniform(8, 40),
            history=history,
            created_at=self.anchor - DAY * r.uniform(400, 3000),
            # the first 12 creators keep the audiences they always had; beyond, each is drawn when first read
            audience_=self.draw_audience(r) if len(self.creators) < len(IG_LAYOUT) else None,
            audience_key=f"{self.seed}|audience|{num}",
            fb_user_id=creator.fb_user_id,
        )
        creator.accounts.setdefault(platform, []).append(acct)
        self.accounts[platform][ident] = acct
        self.by_num[num] = acct
        return acct

    @staticmethod
    def draw_audience(r: random.Random) -> Audience:
        def split(keys: list[str], n: int) -> list[tuple[str, float]]:
            chosen = r.sample(keys, n)
            weights = sorted((r.random() ** 2 for _ in chosen), reverse=True)
            total = sum(weights)
            return [(k, w / total) for k, w in zip(chosen, weights, strict=True)]

        f = r.uniform(0.3, 0.7)
        ages = [(a, w) for a, w in zip(AGES, [0.04, 0.3, 0.34, 0.17, 0.09, 0.04, 0.02], strict=True)]
        return Audience(
            countries=split(COUNTRIES, 10),
            cities=split(CITIES, 12),
            ages=ages,
            genders=[("F", f), ("M", 0.97 - f), ("U", 0.03)],
        )

    # ----- lookup -----
    def account(self, platform: str, account_id: str) -> Account | None:
        return self.accounts.get(platform, {}).get(account_id)

    def creator(self, creator_id: str) -> Creator | None:
        return self._creators.get(creator_id)

    def creator_of(self, acct: Account) -> Creator:
        creator = self.creator(acct.creator_id)
        assert creator is not None
        return creator

    # ----- schedules -----
    def _time(self, acct: Account, k: int, period: float, kind: str) -> float:
        # jitter < period / 2 keeps times strictly increasing in k
        return self.anchor + k * period + 0.5 * period * frac(self.seed, acct.id, kind, k)

    def _latest_k(self, acct: Account, now: float, period: float, kind: str) -> int:
        k = math.floor((now - self.anchor) / period)
        while self._time(acct, k, period, kind) > now:
            k -= 1
        return k

    def feed_count(self, acct: Account, now: float) -> int:
        scheduled = max(0, self._latest_k(acct, now, acct.cadence, "feed") + acct.history + 1)
        extra = sum(
            1
            for it in self.published.get((acct.platform, acct.id), [])
            if it.kind != "STORY" and it.published_at <= now
        )
        return scheduled + extra

    def feed_page(
        self, acct: Account, now: float, before: tuple[float, str] | None, limit: int, since: float | None = None
    ) -> tuple[list[Item], bool]:
        """Newest-first page of an account's feed strictly older than `before` (a (time, id) cursor)."""
        bound_t = now if before is None else before[0]
        k = self._latest_k(acct, bound_t, acct.cadence, "feed")
        scheduled: list[Item] = []
        while k >= -acct.history and len(scheduled) <= limit:
            item = self.feed_item(acct, k)
            if before is None or (item.published_at, item.id) < before:
                scheduled.append(item)
            k -= 1
        extra = [
            it
            for it in self.published.get((acct.platform, acct.id), [])
            if it.kind != "STORY" and it.published_at <= now and (before is None or (it.published_at, it.id) < before)
        ]
        merged = sorted(scheduled + extra, key=lambda it: (it.published_at, it.id), reverse=True)
        if since is not None:
            merged = [it for it in merged if it.published_at >= since]
        return merged[:limit], len(merged) > limit

    def live_stories(self, acct: Account, now: float) -> list[Item]:
        stories: list[Item] = []
        if acct.story_period:
            k = self._latest_k(acct, now, acct.story_period, "story")
            while True:
                item = self.story_item(acct, k)
                if item.published_at <= now - STORY_LIFETIME:
                    break
                stories.append(item)
                k -= 1
        stories += [
            it
            for it in self.published.get((acct.platform, acct.id), [])
            if it.kind == "STORY" and now - STORY_LIFETIME < it.published_at <= now
        ]
        return sorted(stories, key=lambda it: it.published_at, reverse=True)

    # ----- items -----
    def encode(self, acct: Account, kind_digit: int, seq: int) -> str:
        prefix = {"instagram": "178", "tiktok": "7301", "youtube": "L", "twitter": "1820", "twitch": "2"}
        if acct.platform == "facebook":
            return f"{acct.id}_{kind_digit}{seq:06d}"
        return f"{prefix[acct.platform]}{acct.num:03d}{kind_digit}{seq:06d}"

    def find_item(self, platform: str, item_id: str) -> Item | None:
        if item_id in self._published_ids:
            item = self._published_ids[item_id]
            return item if item.platform == platform else None
        if platform == "facebook":
            m = re.fullmatch(r"(\d+)_(\d)(\d{6})", item_id)
            acct = self.account("facebook", m.group(1)) if m else None
            digits = m.groups()[1:] if m else None
        else:
            prefix = {"instagram": "178", "tiktok": "7301", "youtube": "L", "twitter": "1820", "twitch": "2"}
            # the account number takes 3 digits, more in worlds of over 1,000 accounts
            m = re.fullmatch(re.escape(prefix.get(platform, "?")) + r"(\d{3,})(\d)(\d{6})", item_id)
            acct = self.by_num.get(int(m.group(1))) if m else None
            digits = m.groups()[1:] if m else None
        if acct is None or digits is None or acct.platform != platform:
            return None
        kind_digit, seq = int(digits[0]), int(digits[1])
        k = seq - SEQ_ZERO
        if kind_digit == 1:
            return self.story_item(acct, k)
        if kind_digit == 0 and k >= -acct.history:
            return self.feed_item(acct, k)
        return None

    def find_child(self, platform: str, child_id: str) -> tuple[Item, int] | None:
        """(album, index) of an Instagram carousel child id: the album's id plus the child's index digit."""
        if platform != "instagram" or not child_id[-1:].isdigit():
            return None
        album = self.find_item(platform, child_id[:-1])
        index = int(child_id[-1])
        if album is None or index >= album.children:
            return None
        return album, index

    def feed_item(self, acct: Account, k: int) -> Item:
        key = (acct.id, k, "feed")
        if key not in self._cache:
            published_at = self._time(acct, k, acct.cadence, "feed")
            self._cache[key] = self._make_item(acct, k, published_at, story=False)
        return self._cache[key]

    def story_item(self, acct: Account, k: int) -> Item:
        key = (acct.id, k, "story")
        if key not in self._cache:
            assert acct.story_period is not None
            published_at = self._time(acct, k, acct.story_period, "story")
            self._cache[key] = self._make_item(acct, k, published_at, story=True)
        return self._cache[key]

    def _make_item(
        self,
        acct: Account,
        k: int,
        published_at: float,
        story: bool,
        text: str | None = None,
        kind: str | None = None,
        seq: int | None = None,
    ) -> Item:
        r = rng(self.seed, acct.id, "story" if story else "feed", k)
        text = text if text is not None else caption(r, acct.platform)
        reach_share = r.uniform(0.02, 0.3) if not story else r.uniform(0.01, 0.08)
        potential = max(3, int(acct.followers * reach_share))
        kind = kind or ("STORY" if story else pick_kind(r, acct.platform))
        duration = {
            "video": r.randrange(61, 1500),
            "short": r.randrange(8, 60),
            "VIDEO": r.randrange(6, 90),
            "archive": r.randrange(1800, 4 * 3600),
            "highlight": r.randrange(30, 600),
            "upload": r.randrange(60, 900),
        }.get(kind, r.randrange(5, 60) if acct.platform == "tiktok" else 0)
        seq = seq if seq is not None else k + SEQ_ZERO
        return Item(
            id=self.encode(acct, 1 if story else 0, seq),
            platform=acct.platform,
            account_id=acct.id,
            seq=seq,
            kind=kind,
            published_at=published_at,
            text=text,
            title=text.split(" #")[0][:90],
            duration=duration,
            potential=potential,
            like_ratio=r.uniform(0.02, 0.09),
            comment_ratio=r.uniform(0.001, 0.008),
            share_ratio=r.uniform(0.0005, 0.004),
            save_ratio=r.uniform(0.001, 0.006),
            tau=3 * 3600 if story else DAY * r.uniform(0.5, 3),
            children=r.randrange(2, 6) if kind == "CAROUSEL_ALBUM" else 0,
        )

    def publish(self, acct: Account, now: float, kind: str, text: str | None) -> Item:
        """Publish a post (or a story) right now; it shows up at once in lists and metrics start at 0."""
        bucket = self.published.setdefault((acct.platform, acct.id), [])
        seq = PUBLISHED_BASE + len(bucket)
        story = kind.lower() == "story"
        platform_kind = "STORY" if story else normalise_kind(acct.platform, kind)
        item = self._make_item(acct, seq, now, story=story, text=text, kind=platform_kind, seq=seq)
        bucket.append(item)
        self._published_ids[item.id] = item
        return item


def pick_kind(r: random.Random, platform: str) -> str:
    x = r.random()
    if platform == "instagram":
        return "IMAGE" if x < 0.5 else "CAROUSEL_ALBUM" if x < 0.7 else "VIDEO"
    if platform == "youtube":
        return "short" if x < 0.35 else "video"
    if platform == "twitch":
        return "archive" if x < 0.6 else "highlight" if x < 0.85 else "upload"
    return {"facebook": "post", "tiktok": "video", "twitter": "tweet"}[platform]


def normalise_kind(platform: str, kind: str) -> str:
    kind = kind.lower()
    if platform == "instagram":
        return {"reel": "VIDEO", "video": "VIDEO", "carousel": "CAROUSEL_ALBUM"}.get(kind, "IMAGE")
    if platform == "youtube":
        return "short" if kind == "short" else "video"
    if platform == "twitch":
        return kind if kind in {"archive", "highlight", "upload"} else "archive"
    return {"facebook": "post", "tiktok": "video", "twitter": "tweet"}[platform]

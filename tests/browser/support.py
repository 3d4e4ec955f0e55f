"""Helpers of the browser tests: where Chromium is, and screenshots into tests/artifacts/."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.async_api import Page

WIDTHS = (360, 1280)  # a small phone and a laptop, in CSS pixels
HEIGHT = 800
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
MISSING = "Chromium is missing: install it with `sudo apt-get install chromium`"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def chromium_path() -> str | None:
    """Debian's Chromium (never a browser downloaded by Playwright). `LOUPE_TEST_CHROMIUM` overrides the path."""
    override = os.environ.get("LOUPE_TEST_CHROMIUM")
    if override is not None:
        return override if os.access(override, os.X_OK) else None
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


async def screenshot(page: Page, name: str) -> Path:
    """A full-page PNG at tests/artifacts/{name}-{width}px.png (width: the page's viewport)."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"screenshot name {name!r}: use letters, digits, '.', '_' and '-'")
    viewport = page.viewport_size
    assert viewport is not None, "the page has no fixed viewport"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}-{viewport['width']}px.png"
    await page.screenshot(path=path, full_page=True, animations="disabled")
    return path

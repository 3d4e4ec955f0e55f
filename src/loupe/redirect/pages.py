"""The few small pages the redirect answers with (no templates on the hot path)."""

from __future__ import annotations


def _page(title: str, text: str) -> bytes:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f'<meta name=robots content=noindex><title>{title}</title></head><body style="font-family:system-ui,'
        f'sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem"><h1>{title}</h1><p>{text}</p></body></html>'
    ).encode()


NOT_FOUND = _page("Link not found", "This link does not exist. Check that it was copied in full.")
GONE = _page("Link no longer available", "This link was archived by its owner and no longer leads anywhere.")
UNAVAILABLE = _page("Try again in a moment", "This link cannot be opened right now. Please try again shortly.")
TOO_MANY = _page("Too many unknown links", "Too many links that do not exist were opened from here. Try again shortly.")

"""Loupe: measure influencer marketing."""

__version__ = "0.1.0"

"""Platform sandbox: a local emulator of the Instagram, Facebook, TikTok, YouTube, X and Twitch APIs.

See docs/platform-contract.md for the URL layout, credentials, authorize-form contract and admin surface.
"""

from .app import create_app, serve
from .clock import Clock
from .faults import FaultBoard

__all__ = ["Clock", "FaultBoard", "create_app", "serve"]

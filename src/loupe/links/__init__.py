"""Tracking links: campaign-level templates, per-creator links, archive, codes, merge tags."""

"""Clicks: the durable buffer between the redirect and PostgreSQL, enrichment and flush (stats: loupe.stats)."""

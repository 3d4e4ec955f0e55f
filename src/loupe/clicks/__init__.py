"""Clicks: the durable buffer between the redirect and PostgreSQL, enrichment, flush and stats."""

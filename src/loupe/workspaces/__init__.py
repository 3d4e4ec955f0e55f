"""Workspaces (brands and agencies) and their API keys."""

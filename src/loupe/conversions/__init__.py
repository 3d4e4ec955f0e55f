"""Conversions: server-to-server events attributed to a click within the attribution window."""

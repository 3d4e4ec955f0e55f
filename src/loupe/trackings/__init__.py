"""Trackings: criteria inside a report, the profiles they follow, and the contents that match them."""

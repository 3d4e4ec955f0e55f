"""Reports: containers of trackings (trackings arrive with their own issue)."""

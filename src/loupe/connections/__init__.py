"""Creator connections: OAuth through our public pages, encrypted tokens, grants per workspace."""

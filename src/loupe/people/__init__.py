"""People: who signs in, their sessions and one-time tokens, and which workspaces they belong to with which role."""

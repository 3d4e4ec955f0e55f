"""Sign-in and teams over HTTP: the public /v1/auth routes, a person's own /v1/me, workspaces and
organizations a person creates, and a workspace's team (invitations by email, members and roles)."""

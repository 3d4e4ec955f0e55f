"""Creator invites: an email with a personal link to connect their accounts, sent through the outbox."""

"""Messages to creators: one template renderer with merge tags, shared by previews and (later) invite emails."""

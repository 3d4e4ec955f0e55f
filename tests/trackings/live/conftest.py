"""Collecting tests reuse the connect fixtures: a live sandbox, the app in-process, a creator's browser."""

from tests.connections.conftest import (  # noqa: F401
    app,
    client,
    connect_ctx,
    connect_settings,
    creator,
    new_creator,
    sandbox,
    sandbox_server,
)

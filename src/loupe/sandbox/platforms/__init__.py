"""One module per platform family; each exposes `routes() -> list[BaseRoute]` mounted under its hosts."""

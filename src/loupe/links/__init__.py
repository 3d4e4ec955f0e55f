"""Tracking links: campaign-level templates, per-creator links, codes, archive (final).

The reference domain the others copy: thin routes whose operation ids, summaries, problem responses and
docstrings read as the contract; the rules in the service; a workspace-scoped repository that explains its
lock modes where it takes them; `docs/links-contract.md` beside it.
"""

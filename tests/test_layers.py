"""The shape of `src/loupe`, checked on every change (README, "Layout"):

- every relationship is `lazy="raise"` (repositories load what a read needs);
- imports point down the layer order: a module imports its own layer or a lower one, never a higher one;
- another domain is reached through its service (or models, schemas...), never through its repository;
- every repository is scoped to a workspace by construction (it takes the workspace id and keeps it).

A new package must be placed in LAYERS before anything may import it.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path

import pytest

import loupe

SRC = Path(loupe.__file__).parent

# Lowest first. A layer may import itself and every layer before it. Sub-packages listed on their own
# (campaigns.creators) rank above their parent package's own modules.
LAYERS = [
    "connectors",  # platform clients: no other part of Loupe
    "config",
    "kit",  # shared plumbing
    "people",  # people, their sessions, and which workspaces they reach with which role
    "workspaces",  # workspaces, API keys, and who may call what (workspaces.auth)
    "audit",  # the audit log of every write
    "team",  # sign-in over HTTP, a person's own routes, teams: invitations and members
    "influencers",
    "reports",
    "campaigns",
    "campaigns.creators",
    "campaigns.stories",
    "links",
    "messaging",
    "invites",  # creator invites: influencers, messaging templates, the outbox
    "connections",  # creator pages, OAuth connections and grants: invites, influencers, connectors
    "accounts",  # connected accounts' data and its refresh jobs: connections, connectors
    "trackings",  # criteria in reports and the contents they match: accounts (through a hook), campaign stories
    "clicks",
    "conversions",
    "stats",
    "redirect",
]
# Processes and wiring: they may import anything, and nothing in the layers imports them.
ENTRY_POINTS = {"app", "cli", "worker", "seed", "runtime", "models", "health", "__main__", "__init__", "sandbox"}
# Repositories that are not scoped to one workspace, and why.
UNSCOPED_REPOSITORIES = {
    "WorkspaceRepository": "the workspaces are the tenants themselves",
    "CredentialRepository": "finds which workspace a presented API key belongs to",
    "PeopleRepository": "a person reaches workspaces through memberships; they are in none",
    "InvitationLinkRepository": "a team invitation's emailed token arrives before any workspace is known",
    "ConnectionRepository": "a platform account is one row, whichever workspaces it is granted to",
    "AttemptRepository": "an OAuth callback's state arrives before any workspace is known",
    "DeletionRepository": "a platform's data-deletion request names a platform user, not a workspace",
    "AccountDataRepository": "an account's data is one copy, read by every workspace it is granted to",
    "RefreshRepository": "the refresh schedule runs over every workspace's connections",
    "MatchingRepository": "the matcher runs over every workspace's trackings as contents arrive",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, tuple[str, str]]:
    """module (dotted, without `loupe.`) → (its file for messages, its source)."""
    return {
        _module_name(path) or "__init__": (str(path.relative_to(SRC)), path.read_text()) for path in SRC.rglob("*.py")
    }


def _layer(module: str) -> str | None:
    """The most specific layer a module belongs to."""
    matches = [layer for layer in LAYERS if module == layer or module.startswith(layer + ".")]
    return max(matches, key=len) if matches else None


def _is_entry_point(module: str) -> bool:
    return module.split(".")[0] in ENTRY_POINTS


def _imports(module: str, source: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, module imported) for every import of Loupe code, relative ones resolved, inside functions too."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("loupe."):
                    yield node.lineno, alias.name.removeprefix("loupe.")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            elif node.module and node.module.startswith("loupe."):
                target = node.module.removeprefix("loupe.")
            else:
                continue
            for alias in node.names:
                yield node.lineno, _submodule(target, alias.name)


def _submodule(package: str, name: str) -> str:
    """`from loupe.x import y` imports the module `x.y` when there is one, else a name of `x`."""
    folder = SRC.joinpath(*package.split("."))
    return f"{package}.{name}" if (folder / name).is_dir() or (folder / f"{name}.py").is_file() else package


def _upward_imports(modules: dict[str, tuple[str, str]]) -> list[str]:
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    wrong = []
    for module, (file, source) in modules.items():
        own = _layer(module)
        if _is_entry_point(module) or own is None:
            continue
        for line, target in _imports(module, source, file.endswith("__init__.py")):
            theirs = _layer(target)
            if theirs is None:
                wrong.append(f"{file}:{line} imports loupe.{target}, an entry point")
            elif rank[theirs] > rank[own]:
                wrong.append(f"{file}:{line} ({own}) imports loupe.{target} (the higher layer {theirs})")
    return wrong


def test_every_package_has_a_place_in_the_layers() -> None:
    unplaced = sorted({m.split(".")[0] for m in _modules() if not _is_entry_point(m) and _layer(m) is None})
    assert unplaced == [], f"place these packages in LAYERS (tests/test_layers.py) and the README: {unplaced}"


def test_imports_point_down_the_layers() -> None:
    wrong = _upward_imports(_modules())
    assert wrong == [], "\n".join(wrong)


def test_other_domains_are_reached_through_their_services_not_their_repositories() -> None:
    wrong = [
        f"{file}:{line} imports loupe.{target}"
        for module, (file, source) in _modules().items()
        for line, target in _imports(module, source, file.endswith("__init__.py"))
        if target.endswith(".repository") and _layer(target) != _layer(module)
    ]
    assert wrong == [], "\n".join(wrong)


def test_the_layer_check_catches_a_wrong_import() -> None:
    probe = "def f():\n    from loupe.links.service import LinkService\n    from . import creators\n"
    assert [t for _, t in _imports("campaigns.probe", probe)] == ["links.service", "campaigns.creators"]
    assert _upward_imports({"campaigns.probe": ("campaigns/probe.py", probe)}) == [
        "campaigns/probe.py:2 (campaigns) imports loupe.links.service (the higher layer links)",
        "campaigns/probe.py:3 (campaigns) imports loupe.campaigns.creators (the higher layer campaigns.creators)",
    ]


def _repository_classes() -> Iterator[type]:
    for path in sorted(SRC.rglob("repository.py")):
        module = import_module(f"loupe.{_module_name(path)}")
        for name, value in vars(module).items():
            if inspect.isclass(value) and name.endswith("Repository") and value.__module__ == module.__name__:
                yield value


@pytest.mark.parametrize("repository", list(_repository_classes()), ids=lambda cls: cls.__name__)
def test_repositories_are_scoped_to_a_workspace(repository: type) -> None:
    if repository.__name__ in UNSCOPED_REPOSITORIES:
        return
    parameters = list(inspect.signature(repository.__init__).parameters)  # type: ignore[misc]
    assert "workspace_id" in parameters, (
        f"{repository.__module__}.{repository.__name__} must take the workspace id and put it in every query"
    )


def test_every_relationship_raises_instead_of_loading_lazily() -> None:
    import loupe.models  # noqa: F401  (every mapper)
    from loupe.kit.db import Base

    lazy = [
        f"{mapper.class_.__name__}.{rel.key}: lazy={rel.lazy!r}"
        for mapper in Base.registry.mappers
        for rel in mapper.relationships
        if rel.lazy != "raise"
    ]
    assert lazy == [], "load in the repository instead (selectinload/joinedload):\n" + "\n".join(lazy)


def test_no_assert_guards_a_production_path() -> None:
    """`python -O` strips asserts, so a check that matters must raise. The sandbox (a stand-in for the
    platforms, never deployed as one) may narrow types with them."""
    found = [
        f"{path.relative_to(SRC)}:{node.lineno}"
        for path in SRC.rglob("*.py")
        if "sandbox" not in path.relative_to(SRC).parts
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assert)
    ]
    assert found == []

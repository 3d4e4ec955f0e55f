"""The one template renderer: `{{tag}}` and `{{tag:<argument>}}` merge tags, checked against a registry.

A registry says which tags exist (and whether they take an argument); the caller supplies, per render,
how each tag resolves. Invite emails will register their own tags ({{invite_link}}, {{workspace_name}}...)
and reuse everything here.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

_TAG = re.compile(r"\{\{([^{}]*)\}\}")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

# Resolves one use of a tag: gets the argument (None for tags without one), returns the text to insert.
Resolver = Callable[[str | None], Awaitable[str]]


@dataclass(frozen=True)
class MergeTag:
    name: str
    description: str
    argument: str | None = None  # what the argument is, e.g. "link name"; None when the tag takes none

    @property
    def syntax(self) -> str:
        return f"{{{{{self.name}:<{self.argument}>}}}}" if self.argument else f"{{{{{self.name}}}}}"


@dataclass(frozen=True)
class TagUse:
    text: str  # as written, e.g. "{{ tracking_link:Shop }}"
    name: str
    argument: str | None
    start: int
    end: int


class TemplateError(Exception):
    """Every problem found in a template, each a sentence naming the offending tag."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class MergeTagRegistry:
    def __init__(self, tags: Iterable[MergeTag] = ()) -> None:
        self._tags: dict[str, MergeTag] = {}
        for tag in tags:
            self.register(tag)

    def register(self, tag: MergeTag) -> None:
        if not _NAME.match(tag.name) or tag.name in self._tags:
            raise ValueError(f"bad or duplicate merge tag name {tag.name!r}")
        self._tags[tag.name] = tag

    @property
    def tags(self) -> list[MergeTag]:
        return list(self._tags.values())

    def parse(self, template: str) -> list[TagUse]:
        """The tags of a template, or TemplateError listing every unknown or malformed one."""
        problems: list[str] = []
        uses: list[TagUse] = []
        for match in _TAG.finditer(template):
            text, body = match.group(0), match.group(1).strip()
            name, sep, arg = body.partition(":")
            name, argument = name.strip(), (arg.strip() if sep else None)
            tag = self._tags.get(name)
            if not body:
                problems.append(f"Empty merge tag {text}.")
            elif tag is None:
                problems.append(f"Unknown merge tag {text}; known tags: {self._known()}.")
            elif tag.argument and not argument:
                problems.append(f"Merge tag {text} needs a {tag.argument}: {tag.syntax}.")
            elif not tag.argument and argument is not None:
                problems.append(f"Merge tag {text} takes no argument: {tag.syntax}.")
            else:
                uses.append(TagUse(text, name, argument, match.start(), match.end()))
        rest = _TAG.sub("", template)
        for stray in ("{{", "}}"):
            if stray in rest:
                at = rest.index(stray)
                snippet = rest[max(0, at - 10) : at + 20]
                problems.append(f"Unbalanced braces: '{stray}' near '{snippet}' is not part of a merge tag.")
        if problems:
            raise TemplateError(problems)
        return uses

    async def render(self, template: str, resolvers: Mapping[str, Resolver]) -> str:
        """Renders every tag; a tag whose resolver fails (TemplateError) is reported with all the others."""
        uses = self.parse(template)
        parts: list[str] = []
        problems: list[str] = []
        cursor = 0
        for use in uses:
            parts.append(template[cursor : use.start])
            resolver = resolvers.get(use.name)
            if resolver is None:
                problems.append(f"Merge tag {use.text} cannot be used here.")
            else:
                try:
                    parts.append(await resolver(use.argument))
                except TemplateError as exc:
                    problems.extend(exc.problems)
            cursor = use.end
        parts.append(template[cursor:])
        if problems:
            raise TemplateError(problems)
        return "".join(parts)

    def _known(self) -> str:
        return ", ".join(tag.syntax for tag in self._tags.values())

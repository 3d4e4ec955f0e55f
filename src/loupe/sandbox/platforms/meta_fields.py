"""The Graph API `fields` parameter: field expansion with nested braces and modifiers.

    id,caption,children{id,media_type,media_url},media.limit(5){id,children{media_url}}
    reactions.summary(total_count).limit(0),picture.type(large),cover.fields(source),likes.as(n)

A field is a name, then any number of `.modifier(argument)` and at most one `{sub,fields}` (the older
`.fields(a,b)` spelling means the same as `{a,b}`). `.limit(n)`, `.after(cursor)` and `.since(t)` page an
expanded edge; `.as(alias)` renames the field in the answer; other modifiers (`summary`, `type`, ...) are
kept for the node that knows them. Malformed specs answer like Graph: code 2500
`Syntax error "Expected end of string instead of "{"." at character 46: ...` (0-based position).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .meta_common import GraphError

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class FieldSpec:
    name: str
    sub: list[FieldSpec] | None = None  # None: no braces; [] : empty braces (the default fields)
    modifiers: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The answer's key: the `.as(alias)` when given."""
        return self.modifiers.get("as") or self.name

    def __str__(self) -> str:
        mods = "".join(f".{k}({v})" for k, v in self.modifiers.items())
        return self.name + mods + ("" if self.sub is None else "{" + unparse(self.sub) + "}")


def unparse(specs: list[FieldSpec]) -> str:
    return ",".join(str(s) for s in specs)


def parse_fields(spec: str | None) -> list[FieldSpec]:
    """`a,b.summary(true).limit(0),c{d,e{f}}` -> FieldSpecs; `None` or blank -> [] (the node's defaults)."""
    if spec is None or not spec.strip():
        return []
    return _Parser(spec).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def error(self, expected: str) -> GraphError:
        if self.pos >= len(self.text):
            what = f'Expected {expected}, got end of string"'
        else:
            what = f'Expected {expected} instead of "{self.text[self.pos]}"."'
        return GraphError(2500, f'Syntax error "{what} at character {self.pos}: {self.text}')

    def peek(self) -> str:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, ch: str) -> None:
        if self.peek() != ch:
            raise self.error(f'"{ch}"')
        self.pos += 1

    def parse(self) -> list[FieldSpec]:
        specs = self.fields(closing="")
        if self.peek():
            raise self.error("end of string")
        return specs

    def fields(self, closing: str) -> list[FieldSpec]:
        """A comma-separated list; the caller checks what follows (end of string, `}` or `)`)."""
        if closing and self.peek() == closing:
            return []  # `children{}`: the default fields
        specs = [self.field()]
        while self.peek() == ",":
            self.pos += 1
            specs.append(self.field())
        return specs

    def name(self) -> str:
        self.peek()
        match = NAME.match(self.text, self.pos)
        if not match:
            raise GraphError(2500, f'Syntax error "Expected name." at character {self.pos}: {self.text}')
        self.pos = match.end()
        return match.group()

    def field(self) -> FieldSpec:
        spec = FieldSpec(self.name())
        while True:
            ch = self.peek()
            if ch == ".":
                self.pos += 1
                modifier = self.name()
                self.expect("(")
                if modifier == "fields":  # the older spelling of braces
                    self.no_sub_yet(spec)
                    spec.sub = self.fields(closing=")")
                else:
                    spec.modifiers[modifier] = self.argument()
                self.expect(")")
            elif ch == "{":
                self.no_sub_yet(spec)
                self.pos += 1
                spec.sub = self.fields(closing="}")
                self.expect("}")
            else:
                return spec

    def no_sub_yet(self, spec: FieldSpec) -> None:
        if spec.sub is not None:  # `comments{id}{from}`: one set of sub-fields per field
            raise self.error("end of string")

    def argument(self) -> str:
        start, depth = self.pos, 0
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    return self.text[start : self.pos].strip()
                depth -= 1
            self.pos += 1
        raise self.error('")"')


class Lazy:
    """A field computed only when asked for (edges, nested nodes, summaries); it gets the field's spec."""

    def __init__(self, compute: Callable[[FieldSpec], object]) -> None:
        self.compute = compute


def pick(node_type: str, available: Mapping[str, object], fields: list[FieldSpec], default: list[str]) -> dict:
    """Select the requested fields (the node's defaults when none); an unknown field is error 100.

    `None` values are left out, as Graph leaves out what a node does not have (hidden likes, an album
    child's permalink, an empty edge); `id` always comes along.
    """
    specs = fields or [FieldSpec(name) for name in default]
    out: dict[str, object] = {}
    for spec in specs:
        if spec.name not in available:
            raise GraphError(100, f"(#100) Tried accessing nonexisting field ({spec.name}) on node type ({node_type})")
        value = available[spec.name]
        if isinstance(value, Lazy):
            value = value.compute(spec)
        if value is not None:
            out[spec.key] = value
    if "id" in available and "id" not in out:
        out["id"] = available["id"]
    return out

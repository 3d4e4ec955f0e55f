"""Extension points that keep imports pointing down the domain order (see the README's Layout).

A lower domain declares a hook and calls it where something happens (creators promoted); a higher domain
attaches a receiver when its service module is imported (tracking links hand out copies). Receivers run in
the caller's transaction, in the order they attached, so what they do commits or rolls back with the change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, ParamSpec, TypeVar

P = ParamSpec("P")


class Hook(Generic[P]):
    def __init__(self, name: str, *, required: bool = False) -> None:
        self.name = name
        # A required hook refuses to run with no receiver: the change would silently miss its consequence.
        self.required = required
        self._receivers: list[Callable[P, Awaitable[None]]] = []

    def attach(self, receiver: Callable[P, Awaitable[None]]) -> Callable[P, Awaitable[None]]:
        if receiver not in self._receivers:
            self._receivers.append(receiver)
        return receiver

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> None:
        if self.required and not self._receivers:
            raise RuntimeError(f"hook {self.name!r} has no receiver; import the domain that handles it")
        for receiver in self._receivers:
            await receiver(*args, **kwargs)


T = TypeVar("T")


class Ask(Generic[P, T]):
    """A question a lower domain asks and one higher domain answers (how many accounts are connected?).
    Unanswered, it returns `default`: the lower domain works on its own."""

    def __init__(self, name: str, default: T) -> None:
        self.name = name
        self.default = default
        self._answer: Callable[P, Awaitable[T]] | None = None

    def answer_with(self, answer: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        self._answer = answer
        return answer

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.default if self._answer is None else await self._answer(*args, **kwargs)

"""The container runs that checks share, owned by the harness: each runs at most once per session, and its
outcome is remembered whether it is a result or the exception that ended it. A server that failed to start
is one attempt with one cause, given to every check that needed it, never a retry under the same name."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class Plan:
    def __init__(self) -> None:
        self._outcomes: dict[Hashable, tuple[bool, Any]] = {}

    def once(self, key: Hashable, run: Callable[[], T]) -> T:
        """`run()`'s outcome, from its first and only call: its result, or its exception raised again.
        (An interrupt is not an outcome: a KeyboardInterrupt passes through and is not remembered.)"""
        if key not in self._outcomes:
            try:
                self._outcomes[key] = (True, run())
            except Exception as error:
                self._outcomes[key] = (False, error)
        succeeded, value = self._outcomes[key]
        if succeeded:
            return value  # type: ignore[no-any-return]
        raise value

    def result(self, key: Hashable) -> Any | None:
        """What `key` gave, if it ran and succeeded; None otherwise (it is never started here)."""
        succeeded, value = self._outcomes.get(key, (False, None))
        return value if succeeded else None


class planned:  # noqa: N801 (used as a decorator, like functools.cached_property)
    """A property whose value is run once through its owner's `plan`: cached_property, with failures kept."""

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = (owner.__name__, name)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance.plan.once(self.key, lambda: self.func(instance))


def planned_for(func: Callable[[Any], T]) -> Callable[[Any], T]:
    """A function of one owner with a `plan` (the Hosting, say), run once per plan with failures kept."""

    @functools.wraps(func)
    def once(owner: Any) -> T:
        return owner.plan.once((func.__module__, func.__qualname__), lambda: func(owner))  # type: ignore[no-any-return]

    return once

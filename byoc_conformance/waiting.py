"""The one way the harness polls: look, pause, look again, until a deadline. A poll that ends early (what it
waited for happened) simply stops iterating; one that reaches the deadline runs out of looks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Poll:
    """Looks `interval` seconds apart for at most `seconds`. The clock and the pause are given in unit tests."""

    seconds: float
    interval: float
    clock: Callable[[], float] = time.monotonic
    pause: Callable[[float], None] = time.sleep

    def looks(self) -> Iterator[float]:
        """The seconds since the first look, once per look. The first look is at once; after each one the poll
        pauses, and a look is taken only while the deadline has not passed (a look started before the deadline
        may end after it)."""
        started = self.clock()
        while (elapsed := self.clock() - started) <= self.seconds:
            yield elapsed
            self.pause(self.interval)

    def until(self, done: Callable[[], bool]) -> bool:
        """Looks until `done()` is true (True) or the deadline has passed (False)."""
        return any(done() for _ in self.looks())

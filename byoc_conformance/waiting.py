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

    def looks_judged_after(self, since: float | None = None) -> Iterator[float]:
        """Like looks, but the deadline is judged as each look ends, not before the next: after a look that ends
        before the deadline, the poll pauses and looks once more even if the pause took it past the deadline (one
        last look at the deadline). The seconds count from the clock's reading `since` (default: the first look),
        for a wait that began before its poll."""
        started = self.clock() if since is None else since
        while True:
            yield self.clock() - started
            if self.clock() - started > self.seconds:
                return
            self.pause(self.interval)

    def until(self, done: Callable[[], bool]) -> bool:
        """Looks until `done()` is true (True) or the deadline has passed (False)."""
        return any(done() for _ in self.looks())

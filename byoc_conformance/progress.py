"""Long waits, said while they last: what the run waits for, for how long so far, its deadline and the last thing
observed (a log line, a /ping answer), so that a terminal that seems stuck says why. A wait is said first after
REPORT_AFTER[0] seconds, then at each later mark, so that a ten-minute training run adds a dozen lines to a CI
log, not thousands."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

REPORT_AFTER = (10.0, 30.0, 60.0)  # then every 60 s
TICK = 1.0


@dataclass
class Wait:
    what: str  # "the training run with good input to exit"
    deadline: float  # seconds
    observe: Callable[[], str] | None = None  # the last thing observed, read when the wait is said
    started: float = field(default_factory=time.monotonic)
    said: int = 0  # how many times it was said

    def due(self, now: float) -> bool:
        mark = REPORT_AFTER[self.said] if self.said < len(REPORT_AFTER) else \
            REPORT_AFTER[-1] * (self.said - len(REPORT_AFTER) + 2)
        return now - self.started >= mark

    def line(self, now: float) -> str:
        text = (f"byoc-conformance: {int(now - self.started)} s into waiting for {self.what} "
                f"(deadline {self.deadline:.0f} s)")
        if self.observe is not None:
            try:
                observed = self.observe()
            except Exception as error:  # the thing observed may be gone already
                observed = f"cannot tell ({type(error).__name__})"
            if observed:
                text += f"; last: {observed}"
        return text


class Waits:
    """The waits under way, in every thread, and a reporter that says the long ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[int, Wait] = {}
        self._stop = threading.Event()
        self._reporter: threading.Thread | None = None

    @contextlib.contextmanager
    def waiting(self, what: str, deadline: float, observe: Callable[[], str] | None = None) -> Iterator[Wait]:
        wait = Wait(what, deadline, observe)
        with self._lock:
            self._active[id(wait)] = wait
        try:
            yield wait
        finally:
            with self._lock:
                self._active.pop(id(wait), None)

    def due(self, now: float | None = None) -> list[str]:
        """The lines of the waits due to be said now (each counted as said)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            waits = [wait for wait in self._active.values() if wait.due(now)]
            for wait in waits:
                wait.said += 1
        return [wait.line(now) for wait in waits]

    def start(self, say: Callable[[str], None], quiet: Callable[[], bool]) -> None:
        """Says the due waits through `say` every TICK seconds, except while `quiet()` (someone else writes)."""
        self._stop = threading.Event()

        def report() -> None:
            while not self._stop.wait(TICK):
                if not quiet():
                    for line in self.due():
                        say(line)

        self._reporter = threading.Thread(target=report, name="byoc-progress", daemon=True)
        self._reporter.start()

    def stop(self) -> None:
        self._stop.set()
        if self._reporter is not None:
            self._reporter.join(timeout=5)


WAITS = Waits()  # the process's: runners note their waits here, the plugin says them

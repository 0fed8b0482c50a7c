"""Stand-ins for unit tests: Hosting with any attributes and Hosting's payloads (generated CSV, or a sample), and a
clock the test moves."""

from types import SimpleNamespace

from byoc_conformance.declaration import DEFAULT_CSV
from byoc_conformance.hosting import Probing
from byoc_conformance.payloads import Traffic


class FakeHosting(SimpleNamespace, Probing):
    def __init__(self, **attributes):
        super().__init__(**{"csv": DEFAULT_CSV, "traffic": Traffic(), **attributes})


class Clock:
    """A monotonic clock that moves only when the code under test pauses (or the test moves `now`): no real sleeps."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def pause(self, seconds: float) -> None:
        self.now += seconds

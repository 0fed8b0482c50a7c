"""Long waits said at 10 s, 30 s, 60 s and each minute after, with what was seen last; short ones never."""

import threading

from byoc_conformance import progress
from byoc_conformance.progress import Waits

GUARD = 10  # seconds: only how long a test that would hang waits before it fails


def test_a_long_wait_is_said_at_its_marks_with_what_was_observed():
    waits = Waits()
    with waits.waiting("the training run with good input to end", 600, lambda: "log line 'epoch 3'") as wait:
        start = wait.started
        assert waits.due(start + 5) == []
        (line,) = waits.due(start + 10.2)
        assert line == ("byoc-conformance: 10 s into waiting for the training run with good input to end "
                        "(deadline 600 s); last: log line 'epoch 3'")
        assert waits.due(start + 20) == []  # said once per mark
        assert len(waits.due(start + 31)) == 1 and waits.due(start + 59) == []
        assert len(waits.due(start + 61)) == 1 and waits.due(start + 100) == []
        assert len(waits.due(start + 121)) == 1 and len(waits.due(start + 181)) == 1
    assert waits.due(start + 1000) == []  # over


def test_what_cannot_be_observed_any_more_is_said_so():
    waits = Waits()

    def gone() -> str:
        raise LookupError("container removed")

    with waits.waiting("the server to answer /ping 200", 15, gone) as wait:
        (line,) = waits.due(wait.started + 11)
    assert line.endswith("(deadline 15 s); last: cannot tell (LookupError)")


def test_the_reporter_says_due_waits_only_when_the_terminal_is_free(monkeypatch):
    monkeypatch.setattr(progress, "TICK", 0.01)  # the reporter looks often; what it says is counted, not timed
    said, seen_while_quiet = [], []
    free, spoke = threading.Event(), threading.Event()

    def quiet() -> bool:
        """Busy for the reporter's first three looks, noting what had been said by each; free after."""
        if len(seen_while_quiet) < 3:
            seen_while_quiet.append(len(said))
            if len(seen_while_quiet) == 3:
                free.set()
            return True
        return False

    def say(line: str) -> None:
        said.append(line)
        spoke.set()

    waits = Waits()
    with waits.waiting("something", 60) as wait:
        wait.started -= 11  # as if it began 11 s ago: due at its first mark from the start
        waits.start(say, quiet=quiet)
        try:
            assert free.wait(GUARD) and spoke.wait(GUARD)
        finally:
            waits.stop()
    assert seen_while_quiet == [0, 0, 0]  # due all along, and not said while the terminal was someone else's
    assert len(said) == 1 and said[0].endswith(" s into waiting for something (deadline 60 s)")

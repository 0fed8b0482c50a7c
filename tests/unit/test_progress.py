"""Long waits said at 10 s, 30 s, 60 s and each minute after, with what was seen last; short ones never."""

import time

from byoc_conformance.progress import Waits


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


def test_the_reporter_says_due_waits_only_when_the_terminal_is_free():
    waits, said, quiet = Waits(), [], [True]
    waits.start(said.append, quiet=lambda: quiet[0])
    try:
        with waits.waiting("something", 60) as wait:
            wait.started -= 11  # as if it began 11 s ago
            time.sleep(1.5)
            assert said == []
            quiet[0] = False
            time.sleep(1.5)
    finally:
        waits.stop()
    assert len(said) == 1 and said[0].endswith(" s into waiting for something (deadline 60 s)")

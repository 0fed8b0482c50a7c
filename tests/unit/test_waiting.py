"""The one polling loop, on a clock the test moves: no sleeps, no wall-clock assertions."""

from byoc_conformance.waiting import Poll

from .fakes import Clock


def test_looks_at_once_then_every_interval_until_the_deadline() -> None:
    clock = Clock()
    assert list(Poll(1.0, 0.25, clock, clock.pause).looks()) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_a_slow_look_uses_up_the_time_it_took() -> None:
    clock = Clock()
    seen = []
    for elapsed in Poll(1.0, 0.1, clock, clock.pause).looks():
        seen.append(round(elapsed, 6))
        clock.now += 0.4  # the look itself took 0.4 s
    assert seen == [0.0, 0.5, 1.0]


def test_until_stops_at_the_first_true_look_and_says_whether_it_came() -> None:
    clock = Clock()
    answers = iter([False, False, True, False])
    assert Poll(5.0, 1.0, clock, clock.pause).until(lambda: next(answers)) is True
    assert clock.now == 102.0
    assert Poll(2.0, 1.0, clock, clock.pause).until(lambda: False) is False


def test_judged_after_each_look_a_look_that_ends_inside_the_window_gets_one_more_after_it():
    def seen(looks_of) -> list[float]:
        clock, seen = Clock(), []
        for elapsed in looks_of(Poll(2.0, 0.5, clock, clock.pause)):
            seen.append(elapsed)
            clock.now += 0.25  # each look takes 0.25 s
        return seen

    # the look at 1.5 ends at 1.75, inside the window: one more follows, at 2.25
    assert seen(Poll.looks_judged_after) == [0.0, 0.75, 1.5, 2.25]
    assert seen(Poll.looks) == [0.0, 0.75, 1.5]  # judged before each look: 2.25 is past the window


def test_judged_after_each_look_the_window_may_count_from_before_the_poll():
    clock = Clock()
    began = clock.now
    clock.now += 1.5  # the wait began 1.5 s before its first look
    assert list(Poll(2.0, 0.25, clock, clock.pause).looks_judged_after(since=began)) == [1.5, 1.75, 2.0, 2.25]

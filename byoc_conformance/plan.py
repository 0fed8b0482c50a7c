"""The container runs that checks share, owned by the harness: each runs at most once per session, and its
outcome is remembered whether it is a result or the exception that ended it. A server that failed to start
is one attempt with one cause, given to every check that needed it, never a retry under the same name.

Runs that do not depend on each other may run at once: the checks' runs are queued (`prefetch`) and started by
worker threads, at most `jobs` things at a time; a check that needs a run still queued runs it itself, one that
needs a run in progress waits for it. A run marked `alone` (its timing is part of a verdict: SIGTERM, the
start-up window) starts only when nothing else holds a slot, and nothing else starts while it runs."""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

WAIT_STEP = 0.5  # seconds between looks while waiting, so that Ctrl-C and the end of the run are noticed


RANKS = {None: 0, "probe": 1, "shared": 2, "alone": 3}


class Slots:
    """Who may run now. At most `size` runs at once ("shared"), each thread counting once however deep its runs
    nest; a check probing a running server ("probe") does not count among them; a run "alone" starts when nothing
    else runs or probes, and nothing starts beside it (those waiting to be alone go first come, first served). A
    thread that waits for another's run gives its hold up meanwhile (`released`), so that waiting never blocks
    the run waited for."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._state = threading.Condition()
        self._in_use = 0
        self._probing = 0
        self._alone = False
        self._tickets = 0  # handed to those waiting to be alone, in order of arrival
        self._alone_queue: deque[int] = deque()
        self._priority_waiting = 0  # the checks' thread waiting for a run's slot: the workers start nothing new
        self._local = threading.local()

    @property
    def mode(self) -> str | None:
        """What this thread holds: None, "probe", "shared" or "alone"."""
        return getattr(self._local, "mode", None)

    def _acquire(self, mode: str) -> None:
        priority = getattr(self._local, "priority", False)
        with self._state:
            if mode == "alone":
                self._tickets += 1
                ticket = self._tickets
                self._alone_queue.append(ticket)
                try:
                    while self._alone or self._in_use or self._probing or self._alone_queue[0] != ticket:
                        self._state.wait(WAIT_STEP)
                finally:
                    self._alone_queue.remove(ticket)
                    self._state.notify_all()
                self._alone = True
            elif mode == "probe":
                while self._alone or self._alone_queue:
                    self._state.wait(WAIT_STEP)
                self._probing += 1
            else:
                self._priority_waiting += priority
                try:
                    while self._alone or self._alone_queue or self._in_use >= self.size or \
                            (self._priority_waiting and not priority):
                        self._state.wait(WAIT_STEP)
                finally:
                    self._priority_waiting -= priority
                self._in_use += 1
        self._local.mode = mode

    def _release(self) -> None:
        mode, self._local.mode = self.mode, None
        with self._state:
            if mode == "alone":
                self._alone = False
            elif mode == "shared":
                self._in_use -= 1
            elif mode == "probe":
                self._probing -= 1
            self._state.notify_all()

    @contextlib.contextmanager
    def held(self, mode: str = "shared", priority: bool = False) -> Iterator[None]:
        """`mode` held for the body. Nested in a hold of this thread at least as strong, it is that hold; a weaker
        one is traded for `mode` meanwhile. A thread that once asks with `priority` (the checks' own) gets the next
        free slot before the workers, from then on."""
        if priority:
            self._local.priority = True
        held = self.mode
        if RANKS[held] >= RANKS[mode]:
            yield
            return
        if held is not None:
            self._release()
        self._acquire(mode)
        interrupted = True
        try:
            yield
            interrupted = False
        except Exception:
            interrupted = False
            raise
        finally:
            if self.mode == mode:
                self._release()
            if held is not None and not interrupted:  # an interrupt is not waited out for a slot
                self._acquire(held)

    @contextlib.contextmanager
    def released(self) -> Iterator[None]:
        """This thread's hold given up for the body (a wait for another thread's run), taken again after it; not
        taken again when the body is interrupted."""
        mode = self.mode
        if mode is None:
            yield
            return
        self._release()
        try:
            yield
        except Exception:
            self._acquire(mode)
            raise
        self._acquire(mode)


class Taken(Exception):
    """A queued run that another thread has started already."""


class Plan:
    def __init__(self, jobs: int = 1) -> None:
        self.jobs = jobs  # how many runs at once
        self._state = threading.Condition()
        self._outcomes: dict[Hashable, tuple[bool, Any]] = {}
        self._running: set[Hashable] = set()
        self.slots = Slots(jobs)
        self._local = threading.local()
        self._queue: deque[Callable[[], object]] = deque()
        self._workers: list[threading.Thread] = []
        self.closing = False

    def once(self, key: Hashable, run: Callable[[], T], *, hold: str | None = "shared") -> T:
        """`run()`'s outcome, from its first and only call: its result, or its exception raised again. While
        another thread runs it, this one waits. `hold` is the slot it runs in: "shared" for a container run,
        "alone" for one timed for a verdict, None for work of the harness alone that takes no slot from the
        runs. (An interrupt is not an outcome: a KeyboardInterrupt passes through and is not remembered.)"""
        while True:
            with self._state:
                if key in self._outcomes:
                    return self._value(key)
                if key not in self._running:
                    self._running.add(key)
                    break
                if getattr(self._local, "skip_taken", False):
                    raise Taken  # a queued task that another thread runs: not waited for, the caller moves on
            with self.slots.released(), self._state:
                while key in self._running:
                    self._state.wait(WAIT_STEP)
        top = getattr(self._local, "skip_taken", False)
        self._local.skip_taken = False  # the runs this one reads are waited for
        try:
            with self.slots.held(hold) if hold else contextlib.nullcontext():
                outcome: tuple[bool, Any] = (True, run())
        except Exception as error:
            outcome = (False, error)
        except BaseException:  # interrupted: no outcome, another thread may try it
            self._local.skip_taken = top
            with self._state:
                self._running.discard(key)
                self._state.notify_all()
            raise
        self._local.skip_taken = top
        with self._state:
            self._outcomes[key] = outcome
            self._running.discard(key)
            self._state.notify_all()
            return self._value(key)

    def _value(self, key: Hashable) -> Any:
        succeeded, value = self._outcomes[key]
        if succeeded:
            return value
        raise value

    def result(self, key: Hashable) -> Any | None:
        """What `key` gave, if it ran and succeeded; None otherwise (it is never started here)."""
        with self._state:
            succeeded, value = self._outcomes.get(key, (False, None))
        return value if succeeded else None

    def prefetch(self, tasks: Iterable[Callable[[], object]], *, front: bool = False) -> None:
        """Queues `tasks` (each one reads planned runs) for the worker threads, which take them in order; with
        `front`, before what is queued already. What a task raises is its run's outcome, remembered for the check
        that reads it; nothing is lost. With one job at a time nothing is queued: each run starts when it is read."""
        with self._state:
            if self.closing or self.jobs < 2:
                return
            if front:
                self._queue.extendleft(reversed(list(tasks)))
            else:
                self._queue.extend(tasks)
            while len(self._workers) < self.jobs and len(self._workers) < len(self._queue):
                worker = threading.Thread(target=self._work, name=f"byoc-run-{len(self._workers) + 1}", daemon=True)
                self._workers.append(worker)
                worker.start()

    def each(self, tasks: list[Callable[[], T]]) -> list[T]:
        """The results of `tasks`, runs that do not depend on each other, in order: queued first for the workers
        and read here, where a task no worker has taken yet is run by this thread."""
        self.prefetch(tasks, front=True)
        for task in tasks:  # first those no worker has started, then the others are waited for
            self._local.skip_taken = True
            try:
                with contextlib.suppress(Exception):  # remembered: raised again below, in order
                    task()
            finally:
                self._local.skip_taken = False
        return [task() for task in tasks]

    def _work(self) -> None:
        while True:
            with self._state:
                if self.closing or not self._queue:
                    return
                task = self._queue.popleft()
            self._local.skip_taken = True
            with contextlib.suppress(Exception):
                task()

    def close(self, deadline: float = 60.0) -> bool:
        """No more runs are started from the queue; waits up to `deadline` seconds for the workers' runs in
        progress to end (the caller stops their containers). False if one is still going."""
        with self._state:
            self.closing = True
            self._queue.clear()
        ends = time.monotonic() + deadline
        for worker in self._workers:
            worker.join(max(0.0, ends - time.monotonic()))
        return not any(worker.is_alive() for worker in self._workers)


class planned:  # noqa: N801 (used as a decorator, like functools.cached_property)
    """A property whose value is run once through its owner's `plan`: cached_property, with failures kept."""

    alone = False

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner, self.name = owner, name
        self.key = (owner.__name__, name)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance.plan.once(self.key, lambda: self.func(instance), hold="alone" if self.alone else "shared")


class planned_alone(planned):  # noqa: N801
    """A planned property whose run is timed for a verdict: it runs with no other run beside it."""

    alone = True


# The attribute a function that runs through a plan carries: what a check may call of a runs module
# (tests/unit/test_layers.py).
PLANNED = "planned_run"


def planned_per(key_arguments: int) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """A function of one owner with a `plan` (the Hosting, say), run once per plan and its first `key_arguments`
    further arguments (a request's name), with failures kept; any other arguments (the session's declaration, a
    check's criterion) are the same each time it is read under that key."""

    def decorate(func: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(func)
        def once(owner: Any, *arguments: Any) -> T:
            key = (func.__module__, func.__qualname__, *arguments[:key_arguments])
            return owner.plan.once(key, lambda: func(owner, *arguments))  # type: ignore[no-any-return]

        setattr(once, PLANNED, True)
        return once

    return decorate


planned_for = planned_per(0)  # a run of its owner alone: once per plan

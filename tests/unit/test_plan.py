"""The plan of shared runs: each once, failures kept, several at once up to its jobs, runs timed alone alone."""

import threading
import time

import pytest

from byoc_conformance.plan import Plan, planned, planned_alone

GUARD = 10  # seconds: only how long a test that would hang waits before it fails; never a measure of anything


class Recorder:
    """Runs that sleep, or meet at a barrier, or wait to be released, noting how many were under way at once and
    whether an alone run had company."""

    def __init__(self, meet: int = 0) -> None:
        self.lock = threading.Condition()
        self.now = 0
        self.most = 0
        self.alone_with_company = False
        self.alone_running = False
        self.calls: list[str] = []
        # Each run waits there for meet - 1 others to be under way with it: runs that are not under way together
        # break the barrier instead of passing it.
        self.barrier = threading.Barrier(meet, timeout=GUARD) if meet else None
        self.release: threading.Event | None = None  # when set up, runs end only once it is set

    def started(self, count: int) -> bool:
        """Waits until `count` runs have started."""
        with self.lock:
            return self.lock.wait_for(lambda: len(self.calls) >= count, GUARD)

    def run(self, name: str, seconds: float = 0.1, alone: bool = False):
        def body():
            with self.lock:
                self.calls.append(name)
                self.now += 1
                self.most = max(self.most, self.now)
                if self.alone_running or (alone and self.now > 1):
                    self.alone_with_company = True
                self.alone_running = self.alone_running or alone
                self.lock.notify_all()
            if self.barrier is not None:
                self.barrier.wait()
            elif self.release is not None:
                assert self.release.wait(GUARD)
            else:
                time.sleep(seconds)
            with self.lock:
                self.now -= 1
                if alone:
                    self.alone_running = False
            return name
        return body


def test_a_run_happens_once_and_its_failure_is_kept():
    plan, calls = Plan(), []

    def broken():
        calls.append(1)
        raise RuntimeError("no")

    for _ in range(2):
        with pytest.raises(RuntimeError, match="no"):
            plan.once("key", broken)
    assert calls == [1] and plan.result("key") is None


def test_prefetched_runs_go_at_most_jobs_at_once_and_each_runs_once():
    plan, recorder = Plan(jobs=2), Recorder(meet=2)  # each run passes only with another one under way
    tasks = [lambda n=n: plan.once(n, recorder.run(f"run-{n}")) for n in range(6)]
    plan.prefetch(tasks)
    assert [task() for task in tasks] == [f"run-{n}" for n in range(6)]
    assert recorder.most == 2 and sorted(recorder.calls) == sorted(f"run-{n}" for n in range(6))
    assert plan.close(deadline=5)


def test_a_run_alone_has_no_company_and_nothing_starts_beside_it():
    plan, recorder = Plan(jobs=3), Recorder()
    tasks = [lambda n=n: plan.once(n, recorder.run(f"run-{n}", alone=n in (0, 3)),
                                   hold="alone" if n in (0, 3) else "shared") for n in range(7)]
    plan.prefetch(tasks)
    for task in tasks:
        task()
    assert not recorder.alone_with_company and recorder.most >= 2


def test_a_check_probing_a_server_holds_back_runs_alone():
    plan, recorder = Plan(jobs=1), Recorder()
    with plan.slots.held("probe"):
        started = threading.Event()

        def alone():
            started.set()
            return plan.once("alone", recorder.run("alone", alone=True), hold="alone")

        thread = threading.Thread(target=alone)
        thread.start()
        started.wait()
        time.sleep(0.3)
        assert recorder.calls == []  # waits for the probe to end
        # A run the probing check needs: it stops probing meanwhile, so the alone run may go first.
        assert plan.once("shared", recorder.run("shared")) == "shared"
    thread.join(5)
    assert sorted(recorder.calls) == ["alone", "shared"] and not recorder.alone_with_company


def test_a_thread_waiting_for_another_threads_run_gives_its_slot_up():
    plan = Plan(jobs=1)  # one slot: the waiting thread must let the run it waits for have it
    release = threading.Event()
    results = []

    def slow():
        release.wait(5)
        return "slow"

    def outer():
        with plan.slots.held():
            results.append(plan.once("slow", slow))

    owner = threading.Thread(target=lambda: plan.once("slow", slow))
    owner.start()
    time.sleep(0.1)
    waiter = threading.Thread(target=outer)
    waiter.start()
    release.set()
    owner.join(5)
    waiter.join(5)
    assert results == ["slow"]


def test_each_runs_independent_runs_together_and_keeps_their_order():
    plan, recorder = Plan(jobs=3), Recorder(meet=3)  # no run ends before all three are under way
    runs = [lambda n=n: plan.once(("sub", n), recorder.run(f"sub-{n}")) for n in range(3)]
    assert plan.each(runs) == ["sub-0", "sub-1", "sub-2"]
    assert recorder.most == 3 and not recorder.barrier.broken


def test_each_raises_the_first_failure_in_order():
    plan = Plan(jobs=2)

    def fails(n):
        def body():
            raise ValueError(n)
        return body

    with pytest.raises(ValueError, match="1"):
        plan.each([lambda: plan.once("ok", lambda: 0), lambda: plan.once("a", fails(1)),
                   lambda: plan.once("b", fails(2))])


def test_one_job_runs_each_run_when_it_is_read():
    plan, recorder = Plan(jobs=1), Recorder()
    plan.prefetch([lambda: plan.once("a", recorder.run("a"))])
    time.sleep(0.2)
    assert recorder.calls == []
    assert plan.once("a", recorder.run("a")) == "a"


def test_after_close_queued_runs_do_not_start():
    plan, recorder = Plan(jobs=2), Recorder()
    recorder.release = threading.Event()  # the two runs under way end when the test says
    plan.prefetch([lambda n=n: plan.once(n, recorder.run(str(n))) for n in range(10)])
    assert recorder.started(2)
    assert not plan.close(deadline=0)  # the queue is emptied; the runs under way are still going
    recorder.release.set()
    assert plan.close(deadline=GUARD)
    assert sorted(recorder.calls) == ["0", "1"]


class Owner:
    def __init__(self):
        self.plan = Plan(jobs=2)
        self.count = 0

    @planned
    def value(self):
        self.count += 1
        return self.count

    @planned_alone
    def timed(self):
        return "alone"


def test_planned_properties_run_once_and_say_whether_they_run_alone():
    owner = Owner()
    assert (owner.value, owner.value, owner.timed) == (1, 1, "alone")
    assert Owner.timed.alone and not Owner.value.alone


def test_work_of_the_harness_alone_takes_no_slot_from_the_runs():
    plan = Plan(jobs=1)
    with plan.slots.held("shared"):  # the only slot is taken: a run would wait for it, drawing payloads does not
        done = threading.Event()
        thread = threading.Thread(target=lambda: plan.once("payloads", done.set, hold=None))
        thread.start()
        thread.join(5)
    assert done.is_set()

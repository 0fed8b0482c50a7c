"""When TRAIN-17's SIGTERM goes out (TrainingRunner._signal_job): once PID 1 can take it, and never, whatever the
machine's pace, to a PID 1 that shows the kernel would drop it."""

import pytest

from byoc_conformance import opt_ml, training
from byoc_conformance.training import Disposition, TrainingRun, TrainingRunner

CATCHES = Disposition("python3 train", caught=True, blocked=False, ignored=False)
BLOCKS = Disposition("train", caught=False, blocked=True, ignored=False)
NO_HANDLER = Disposition("python3 train", caught=False, blocked=False, ignored=False)


class Container:
    def __init__(self, disposition: Disposition | None, status: str = "running"):
        self.disposition, self.signals, self.status = disposition, [], status
        self.attrs = {"State": {"ExitCode": 0}}

    def reload(self) -> None:
        pass

    def kill(self, signal: str) -> None:
        self.signals.append(signal)


def _job(monkeypatch, *dispositions, status="running"):
    runs = [TrainingRun(slug="sigterm-job", label="job", image="algo:1", training_input=opt_ml.good_input(),
                        environment={}, host=f"algo-{n}") for n in range(1, len(dispositions) + 1)]
    job = runs[0]
    job.peers = runs[1:]
    containers = [Container(disposition, status) for disposition in dispositions]
    monkeypatch.setattr(training, "pid1_disposition", lambda container: container.disposition)
    running = {id(run): (job, run, container) for run, container in zip(runs, containers, strict=True)}
    return job, running, containers, {id(run): 0.0 for run in runs}


@pytest.mark.parametrize("dispositions, late, sent", [
    ((CATCHES, CATCHES), False, True),  # every host ready: sent when due
    ((CATCHES, BLOCKS), False, False),  # blocked may be a moment of start-up: waited for until the latest moment
    ((CATCHES, BLOCKS), True, True),  # and then sent: a program that takes it by blocking (signalfd) gets it
    ((CATCHES, None), True, True),  # unreadable: sent at the latest moment
    ((CATCHES, NO_HANDLER), True, False),  # would be dropped: held back for a handler, however late
    ((NO_HANDLER, NO_HANDLER), True, False),
])
def test_the_signal_goes_out_once_every_host_may_take_it(monkeypatch, dispositions, late, sent):
    job, running, containers, starts = _job(monkeypatch, *dispositions)
    TrainingRunner._signal_job(job, running, late, starts)
    assert all(container.signals == (["SIGTERM"] if sent else []) for container in containers)
    assert (job.signal_at is not None) == sent
    # Every look is a reading of each host, what TRAIN-17 judges a job never signalled on.
    assert [run.pid1_readings for run in job.hosts] == [int(d is not None) for d in dispositions]
    assert [run.pid1_ever_receives for run in job.hosts] == [bool(d and d.receives) for d in dispositions]


def test_a_host_unreadable_because_it_has_just_exited_is_not_signalled(monkeypatch):
    job, running, containers, starts = _job(monkeypatch, None, None, status="exited")
    TrainingRunner._signal_job(job, running, True, starts)
    assert all(not container.signals for container in containers) and job.signal_at is None

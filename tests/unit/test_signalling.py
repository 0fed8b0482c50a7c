"""When TRAIN-17's SIGTERM goes out (jobs.WhenReady): once PID 1 can take it, and never, whatever the machine's
pace, to a PID 1 that shows the kernel would drop it."""

import pytest

from byoc_conformance import jobs, opt_ml
from byoc_conformance.jobs import Disposition, Host, HostContainers, Job, TrainingRun, WhenReady

CATCHES = Disposition("python3 train", caught=True, blocked=False, ignored=False)
BLOCKS = Disposition("train", caught=False, blocked=True, ignored=False)
NO_HANDLER = Disposition("python3 train", caught=False, blocked=False, ignored=False)
DUE, LATEST = 4.0, 7.0


class Container:
    def __init__(self, disposition: Disposition | None, status: str = "running"):
        self.disposition, self.signals, self.status = disposition, [], status
        self.attrs = {"State": {"ExitCode": 0}}

    def reload(self) -> None:
        pass

    def kill(self, signal: str) -> None:
        self.signals.append(signal)


def _job(monkeypatch, *dispositions, status="running", read_from=0.0):
    runs = [TrainingRun(slug="sigterm-job", label="job", image="algo:1", training_input=opt_ml.good_input(),
                        environment={}, host=f"algo-{n}") for n in range(1, len(dispositions) + 1)]
    job = Job(runs[0], WhenReady(DUE, LATEST, read_from=read_from), started=0.0)
    job.run.peers = runs[1:]
    monkeypatch.setattr(jobs, "pid1_disposition", lambda container: container.disposition)
    hosts = [Host(job, run, HostContainers(None, container=Container(disposition, status)),  # type: ignore[arg-type]
                  started=0.0) for run, disposition in zip(runs, dispositions, strict=True)]
    return job, hosts


def _look(job: Job, hosts: list[Host], seconds_in: float) -> None:
    job.signalling.look(job, hosts, lambda: seconds_in)


@pytest.mark.parametrize("dispositions, late, sent", [
    ((CATCHES, CATCHES), False, True),  # every host ready: sent when due
    ((CATCHES, BLOCKS), False, False),  # blocked may be a moment of start-up: waited for until the latest moment
    ((CATCHES, BLOCKS), True, True),  # and then sent: a program that takes it by blocking (signalfd) gets it
    ((CATCHES, None), True, True),  # unreadable: sent at the latest moment
    ((CATCHES, NO_HANDLER), True, False),  # would be dropped: held back for a handler, however late
    ((NO_HANDLER, NO_HANDLER), True, False),
    ((CATCHES,), False, True),  # a single host alike
    ((None,), True, True),
    ((NO_HANDLER,), True, False),
])
def test_the_signal_goes_out_once_every_host_may_take_it(monkeypatch, dispositions, late, sent):
    job, hosts = _job(monkeypatch, *dispositions)
    _look(job, hosts, LATEST + 1 if late else DUE + 1)
    assert all(host.container.signals == (["SIGTERM"] if sent else []) for host in hosts)
    assert (job.run.signal_at is not None) == sent
    # What PID 1 showed just before the signal is what it did with it.
    assert [host.run.disposition for host in hosts] == (list(dispositions) if sent else [None] * len(hosts))
    # Every look is a reading of each host, what TRAIN-17 judges a job never signalled on.
    assert [run.pid1_readings for run in job.run.hosts] == [int(d is not None) for d in dispositions]
    assert [run.pid1_ever_receives for run in job.run.hosts] == [bool(d and d.receives) for d in dispositions]


def test_pid1_is_read_and_noted_before_the_signal_is_due_but_nothing_is_sent(monkeypatch):
    job, hosts = _job(monkeypatch, NO_HANDLER)
    for seconds_in in (0.5, 1.0, 1.5):
        _look(job, hosts, seconds_in)
    assert job.run.pid1_readings == 3 and job.run.pid1_read_until == 1.5 and not hosts[0].container.signals


def test_a_job_read_from_its_due_moment_is_not_read_before(monkeypatch):
    job, hosts = _job(monkeypatch, CATCHES, CATCHES, read_from=DUE)
    _look(job, hosts, DUE - 1)
    assert job.run.pid1_readings == 0 and job.run.signal_at is None
    _look(job, hosts, DUE)
    assert job.run.pid1_readings == 1 and job.run.signal_at == DUE


def test_a_host_unreadable_because_it_has_just_exited_is_not_signalled(monkeypatch):
    job, hosts = _job(monkeypatch, None, None, status="exited")
    _look(job, hosts, LATEST + 1)
    assert all(not host.container.signals for host in hosts) and job.run.signal_at is None

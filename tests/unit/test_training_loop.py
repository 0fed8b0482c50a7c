"""The training loop (TrainingRunner._run_jobs) on fake containers that run on a clock the test moves: how each kind
of job ends, what it is sent, and that everything the loop created is removed, whatever ends it."""

import contextlib
import dataclasses
from datetime import UTC, datetime

import docker.errors
import pytest

from byoc_conformance import jobs, opt_ml
from byoc_conformance.jobs import Disposition, HostContainers, TrainingRunner

from .fakes import Clock

CATCHES = Disposition("python3 train", caught=True, blocked=False, ignored=False)
NO_HANDLER = Disposition("python3 train", caught=False, blocked=False, ignored=False)



def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat().replace("+00:00", "Z")


class Program:
    """A container whose program runs `runs_for` seconds and exits with `exit_code`; when its PID 1 takes SIGTERM
    (`disposition`) it exits 0 `stops_after` seconds after the signal; SIGKILL ends it at once."""

    def __init__(self, clock: Clock, runs_for: float, exit_code: int = 0, disposition: Disposition | None = CATCHES,
                 stops_after: float | None = 1.0, can_start: bool = True):
        self.clock, self.runs_for, self.code, self.disposition = clock, runs_for, exit_code, disposition
        self.stops_after, self.can_start = stops_after, can_start
        self.status, self.attrs, self.signals = "created", {"State": {}}, []
        self.started_at = self.ends_at = 0.0

    def start(self) -> None:
        if not self.can_start:
            raise docker.errors.APIError("exec format error")
        self.status, self.started_at = "running", self.clock()
        self.ends_at = self.started_at + self.runs_for

    def reload(self) -> None:
        if self.status == "running" and self.clock() >= self.ends_at:
            self._exit(self.code, self.ends_at)

    def _exit(self, code: int, at: float) -> None:
        self.status = "exited"
        self.attrs = {"State": {"ExitCode": code, "StartedAt": _iso(self.started_at), "FinishedAt": _iso(at)}}

    def kill(self, signal: str = "SIGKILL") -> None:
        if self.status != "running":
            raise docker.errors.APIError("is not running")
        self.signals.append(signal)
        if signal == "SIGKILL":
            self._exit(137, self.clock())
        elif self.stops_after is not None and Disposition.may_take(self.disposition):
            self.ends_at, self.code = min(self.ends_at, self.clock() + self.stops_after), 0

    def logs(self, **options) -> bytes:
        return b""


class Engine:
    run_id = "r1"

    def __init__(self) -> None:
        self.events: list[str] = []

    def job_network(self, role: str) -> str:
        self.events.append(f"network {role}")
        return role

    def remove_network(self, name: str) -> None:
        self.events.append(f"removed network {name}")

    def remove(self, container: Program) -> None:
        self.events.append(f"removed {container.name}")

    def remove_volume(self, name: str) -> None:
        self.events.append(f"removed volume {name}")

    def volume(self, role: str) -> str:
        return role


class Runner(TrainingRunner):
    """The loop as it is, with each host's container a Program and collection a note of what was read."""

    def __init__(self, clock: Clock, programs: dict[tuple[str, str], Program]):
        super().__init__(Engine(), "algo:1", clock=clock, pause=clock.pause)  # type: ignore[arg-type]
        self.programs, self.collected, self.networks = programs, [], {}

    @contextlib.contextmanager
    def _host(self, run, network=None, checkpoints=None):
        with HostContainers(self.engine, volumes=[f"{run.slug}-{run.host}"]) as host:
            host.container = self.programs[(run.slug, run.host)]
            host.container.name = f"{run.slug}/{run.host}"
            self.networks[(run.slug, run.host)] = network
            yield host

    def _collect(self, run, host, read_output=False):
        self.collected.append((run.slug, run.host, read_output))


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr(jobs, "pid1_disposition",
                        lambda container: container.disposition if container.status == "running" else None)
    return Clock(1000.0)


def _hosts(count: int) -> opt_ml.TrainingInput:
    return dataclasses.replace(opt_ml.good_input(), hosts=opt_ml.host_names(count))


def test_a_single_host_job_runs_until_it_exits_with_no_network_and_is_read_and_removed(clock):
    program = Program(clock, runs_for=3.0)
    runner = Runner(clock, {("good-input", "algo-1"): program})
    run = runner.run("good-input", "good", opt_ml.good_input(), deadline=60, read_output=True)
    assert (run.exit_code, run.duration, run.killed_at_deadline, run.signal_at) == (0, 3.0, False, None)
    assert runner.networks == {("good-input", "algo-1"): None} and not program.signals
    assert runner.collected == [("good-input", "algo-1", True)]
    assert runner.engine.events == ["removed good-input/algo-1", "removed volume good-input-algo-1"]


def test_a_run_still_going_at_the_deadline_is_killed(clock):
    program = Program(clock, runs_for=100.0)
    run = Runner(clock, {("slow", "algo-1"): program}).run("slow", "slow", opt_ml.good_input(), deadline=30)
    assert run.killed_at_deadline and run.exit_code is None and program.signals == ["SIGKILL"]
    assert run.duration == pytest.approx(30, abs=jobs.EXIT_POLL)


def test_a_host_that_cannot_start_is_not_read_and_is_removed(clock):
    program = Program(clock, runs_for=3.0, can_start=False)
    runner = Runner(clock, {("good-input", "algo-1"): program})
    run = runner.run("good-input", "good", opt_ml.good_input(), deadline=60)
    assert run.start_error == "exec format error" and run.exit_code is None and not runner.collected
    assert "removed good-input/algo-1" in runner.engine.events


def test_a_host_that_fails_fails_the_whole_job_whose_other_hosts_are_stopped(clock):
    programs = {("distributed", "algo-1"): Program(clock, runs_for=10.0),
                ("distributed", "algo-2"): Program(clock, runs_for=2.0, exit_code=1),
                ("distributed", "algo-3"): Program(clock, runs_for=10.0)}
    runner = Runner(clock, programs)
    job = runner.run("distributed", "job", _hosts(3), deadline=60)
    first, failing, third = job.hosts
    assert (failing.exit_code, failing.duration, failing.stopped_with_job) == (1, 2.0, False)
    for stopped in (first, third):
        assert stopped.stopped_with_job and stopped.exit_code is None and not stopped.killed_at_deadline
        assert stopped.duration == pytest.approx(2.0, abs=jobs.POLL)
    assert programs[("distributed", "algo-1")].signals == ["SIGKILL"]
    assert set(runner.networks.values()) == {"train-distributed-net"}
    assert len(runner.collected) == 3
    events = runner.engine.events  # the hosts go before their network
    assert events[0] == "network train-distributed-net" and events[-1] == "removed network train-distributed-net"


def test_a_spot_interruption_sends_sigterm_at_its_time_and_sigkill_at_the_deadline(clock):
    takes_it = Program(clock, runs_for=20.0, stops_after=2.0)
    run = Runner(clock, {("interrupted", "algo-1"): takes_it}).run(
        "interrupted", "stopped", opt_ml.good_input(), deadline=15, checkpoints="volume", stop_at=5.0)
    assert run.signal_at == pytest.approx(5.0, abs=jobs.POLL) and takes_it.signals == ["SIGTERM"]
    assert run.exit_code == 0 and run.duration == pytest.approx(run.signal_at + 2.0)
    # Sent whatever PID 1 does with it: one that drops it is killed at the deadline.
    deaf = Program(clock, runs_for=20.0, disposition=NO_HANDLER, stops_after=None)
    run = Runner(clock, {("interrupted", "algo-1"): deaf}).run(
        "interrupted", "stopped", opt_ml.good_input(), deadline=15, stop_at=5.0)
    assert deaf.signals == ["SIGTERM", "SIGKILL"] and run.killed_at_deadline
    assert run.duration == pytest.approx(15, abs=jobs.POLL)


def test_the_signalled_run_is_read_from_its_start_and_signalled_when_due(clock):
    programs = {("sigterm", "algo-1"): Program(clock, runs_for=10.0, stops_after=1.0),
                ("sigterm-twin", "algo-1"): Program(clock, runs_for=10.0)}
    runner = Runner(clock, programs)
    run, twin = runner.signalled_with_twin(opt_ml.good_input(), signal_at=4.0, latest=7.0, deadline=60)
    assert run.signal_due == 4.0 and run.signal_at == pytest.approx(4.0, abs=jobs.POLL)
    assert run.disposition == CATCHES and run.pid1_ever_receives
    assert run.pid1_readings >= 4.0 / jobs.POLL  # every look until the signal, not only once it was due
    assert (run.exit_code, twin.exit_code, twin.duration) == (0, 0, 10.0)
    assert run.duration == pytest.approx(run.signal_at + 1.0)
    assert programs[("sigterm-twin", "algo-1")].signals == [] and len(runner.collected) == 2


def test_a_signalled_run_whose_pid1_would_drop_sigterm_is_never_sent_it_and_is_stopped_with_its_twin(clock):
    programs = {("sigterm", "algo-1"): Program(clock, runs_for=30.0, disposition=NO_HANDLER),
                ("sigterm-twin", "algo-1"): Program(clock, runs_for=10.0)}
    run, twin = Runner(clock, programs).signalled_with_twin(opt_ml.good_input(), signal_at=4.0, latest=7.0,
                                                            deadline=60)
    assert run.signal_at is None and programs[("sigterm", "algo-1")].signals == ["SIGKILL"]
    assert run.killed_at_deadline and run.duration == pytest.approx(10.0, abs=jobs.POLL)
    assert run.pid1_readings and not run.pid1_ever_receives and run.pid1_read_until >= run.signal_due


def test_signalled_jobs_signal_every_host_and_read_pid1_only_from_the_due_moment(clock):
    programs = {(slug, host): Program(clock, runs_for=10.0)
                for slug in ("sigterm-job", "sigterm-job-twin") for host in ("algo-1", "algo-2")}
    runner = Runner(clock, programs)
    job, twin = runner.signalled_jobs(_hosts(2), signal_at=4.0, latest=7.0, deadline=60)
    assert all(run.signal_at == pytest.approx(4.0, abs=jobs.POLL) for run in job.hosts)
    assert job.signal_at == min(run.signal_at for run in job.hosts)
    assert all(run.pid1_readings == 1 for run in job.hosts)  # read once due, and sent at once: PID 1 catches it
    assert all(run.exit_code == 0 for run in (*job.hosts, *twin.hosts)) and twin.signal_at is None
    assert set(runner.networks.values()) == {"train-sigterm-job-net", "train-sigterm-job-twin-net"}


def test_everything_created_is_removed_when_the_loop_is_interrupted(clock):
    programs = {("distributed", "algo-1"): Program(clock, runs_for=10.0),
                ("distributed", "algo-2"): Program(clock, runs_for=10.0)}

    def interrupted() -> None:
        raise KeyboardInterrupt

    programs[("distributed", "algo-2")].reload = interrupted  # type: ignore[method-assign]
    runner = Runner(clock, programs)
    with pytest.raises(KeyboardInterrupt):
        runner.run("distributed", "job", _hosts(2), deadline=60)
    assert runner.engine.events == [
        "network train-distributed-net",
        "removed distributed/algo-2", "removed volume distributed-algo-2",
        "removed distributed/algo-1", "removed volume distributed-algo-1",
        "removed network train-distributed-net"]

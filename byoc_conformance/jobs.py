"""One training job as SageMaker runs it: `docker run IMAGE train` (or the job's ContainerEntrypoint and
ContainerArguments) on each of its hosts, with a fresh /opt/ml tree, hostname algo-N, no network for one host and a
network of its own for several, no AWS credentials; in script mode, with the user's code as the SDK delivers it.
`TrainingRunner` runs jobs with one loop that starts them, watches them, signals them as a policy says (a spot
interruption, TRAIN-17's SIGTERM once PID 1 can take it) and collects what they left into a `TrainingRun` record,
which also writes the `docker run` commands that reproduce it. Which jobs the checks share is training.py's."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import shlex
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import docker.errors
from docker.models.containers import Container

from . import opt_ml, pipe, script
from .declaration import Hyperparameter
from .engine import (
    Engine,
    content_digest,
    exit_code,
    file_digests,
    files_in,
    lines_of,
    listing,
    pid1_columns,
    save_archive,
    save_logs,
    tar_of,
)
from .outcome import Unclaimed
from .progress import WAITS
from .script import Command
from .waiting import Poll

# /opt/ml/input, /opt/ml/model and /opt/ml/output are mounted one by one, never /opt/ml as a whole:
# images built on the SageMaker training toolkit keep their code in /opt/ml/code.
MOUNTED = ("/opt/ml/input", "/opt/ml/model", "/opt/ml/output")


@dataclass
class TrainingRun:
    slug: str
    label: str
    image: str
    training_input: opt_ml.TrainingInput
    environment: dict[str, str]
    exit_code: int | None = None  # None: never started, or stopped by the harness at its deadline
    duration: float = 0.0  # seconds from start to exit (or to the deadline)
    logs: str = ""  # bounded: the whole of a short log, the first and last parts of a long one
    log_file: Path | None = None  # the whole log, on disk
    model_archive: Path | None = None  # /opt/ml/model as a tar archive on disk; None: it could not be read
    failure: bytes | None = None  # /opt/ml/output/failure (its first MiB), None when absent
    output_files: dict[str, bytes | None] = field(default_factory=dict)  # /opt/ml/output, if read (read_output)
    start_error: str | None = None
    killed_at_deadline: bool = False
    signal_at: float | None = None  # seconds after start when SIGTERM was sent
    signal_due: float | None = None  # when it was due: it waits from then for PID 1 to handle it (TRAIN-17)
    disposition: Disposition | None = None  # how PID 1 treated SIGTERM when it was sent; None: unknown
    # PID 1's SIGTERM disposition read at every look until the signal went out (TRAIN-17): how many readings, and
    # whether any showed it caught, blocked or waited for. A run may end before its signal is due.
    pid1_readings: int = 0
    pid1_ever_receives: bool = False
    pid1_read_until: float = 0.0  # seconds in of the last reading
    feed: pipe.Feed | None = None  # what the Pipe-mode feeder saw of the program's reads; None: no Pipe channel
    # What /opt/ml/checkpoints held when the run ended (file -> size), for a job with a CheckpointConfig; None:
    # no CheckpointConfig, or it could not be read.
    checkpoint_files: dict[str, int | None] | None = None

    command: Command = field(default_factory=Command)
    host: str = opt_ml.CURRENT_HOST  # which host of the job this is
    # The job's other hosts, each a run of its own (a multi-host job); empty for a single-host job.
    peers: list[TrainingRun] = field(default_factory=list)
    stopped_with_job: bool = False  # stopped by the harness because another host of the job failed
    # Files the harness adds to the container's own filesystem (the environment probe of an image with its code
    # baked in): container path -> content.
    image_files: dict[str, bytes] = field(default_factory=dict)

    @cached_property  # read from the archive's headers once: a model may have a million files
    def model_files(self) -> dict[str, int | None] | None:
        """The files in /opt/ml/model and their sizes (None: not a regular file); None if it could not be read."""
        return None if self.model_archive is None else listing(self.model_archive)

    @cached_property
    def model_file_digests(self) -> dict[str, str] | None:
        """Each file in /opt/ml/model: a digest of its content (multi-host jobs); None if it could not be read."""
        return None if self.model_archive is None else file_digests(self.model_archive)

    @cached_property
    def model_digest(self) -> str | None:
        """A digest of /opt/ml/model's names and contents (TRAIN-23); None if it could not be read."""
        return None if self.model_archive is None else content_digest(self.model_archive)

    def note_pid1(self, disposition: Disposition | None, seconds_in: float) -> None:
        """One reading of PID 1's SIGTERM disposition, taken `seconds_in` (TRAIN-17)."""
        if disposition:
            self.pid1_readings += 1
            self.pid1_ever_receives |= disposition.receives
            self.pid1_read_until = seconds_in

    def log_lines(self) -> Iterable[str]:
        """Every line of the log, read from disk as needed."""
        return lines_of(self.log_file) if self.log_file else self.logs.splitlines()

    @property
    def hosts(self) -> list[TrainingRun]:
        """Every host's run of the job, algo-1's first."""
        return [self, *self.peers]

    def on_host(self, run: TrainingRun) -> HostEvidence:
        """What a verdict on one host of this job shows: that host's log, and the whole job to repeat."""
        return HostEvidence(run.label, run.logs, self)

    def outcome(self) -> str:
        program = f"`{self.command.describe()}`" + (f" on {self.host}" if self.peers or self.host != opt_ml.CURRENT_HOST
                                                   else "")
        if self.stopped_with_job:
            return f"{program} was stopped by the harness after {self.duration:.1f} s, when another host failed"
        if self.start_error:
            return f"{program} could not start: {self.start_error}"
        if self.killed_at_deadline:
            return f"{program} was still running after {self.duration:.1f} s and was stopped by the harness"
        return f"{program} exited with code {self.exit_code} after {self.duration:.1f} s"

    def reproduce(self, repro_dir: Path) -> str:
        """Saves this run's /opt/ml/input under repro_dir and returns the `docker run` that repeats the run (for
        a multi-host job: a network and one detached `docker run` per host)."""
        if not self.peers:
            return self._reproduce_host((repro_dir / self.slug).resolve(), network=None)
        network = f"byoc-repro-{self.slug}"
        runs = [self._reproduce_host((repro_dir / self.slug / run.host).resolve(), network, run)
                for run in self.hosts]
        return "\n".join([f"docker network create --internal {network}", *runs,
                          f"docker wait {' '.join(f'{network}-{run.host}' for run in self.hosts)}",
                          f"docker logs {network}-{self.host}"])

    def _reproduce_host(self, where: Path, network: str | None, run: TrainingRun | None = None) -> str:
        run = run or self
        shutil.rmtree(where, ignore_errors=True)
        for path, content in self.training_input.files(run.host).items():
            (where / "input" / path).parent.mkdir(parents=True, exist_ok=True)
            (where / "input" / path).write_bytes(content)
        for directory in self.training_input.directories():
            (where / "input" / directory).mkdir(parents=True, exist_ok=True)
        (where / "model").mkdir()
        (where / "output" / "data").mkdir(parents=True)
        added = []
        for number, (path, content) in enumerate(self.image_files.items(), 1):
            (where / f"added-{number}").write_bytes(content)
            added.append(f"-v {shlex.quote(f'{where}/added-{number}:{path}')}")
        for channel, files in self.training_input.fastfile_channels(run.host).items():
            for key, content in files.items():
                (where / "fastfile" / channel / key).parent.mkdir(parents=True, exist_ok=True)
                (where / "fastfile" / channel / key).write_bytes(content)
            (where / "fastfile" / channel).mkdir(parents=True, exist_ok=True)
            added.append(f"-v {shlex.quote(f'{where}/fastfile/{channel}:{opt_ml.DATA_DIR}/{channel}:ro')}")
        if self.training_input.checkpoints:  # shared by the interrupted run and the one that resumes from it
            (where.parent / "checkpoints").mkdir(parents=True, exist_ok=True)
            added.append(f"-v {shlex.quote(f'{where.parent}/checkpoints:{opt_ml.CHECKPOINTS}')}")
        pipe_channels = self.training_input.in_mode("Pipe")  # the feeder is told the channels, not its files
        for feed_file, content in self.training_input.pipe_feed(run.host).items():
            (where / "feed").mkdir(exist_ok=True)
            (where / "feed" / feed_file).write_bytes(content)
        if network:
            name = f"{network}-{run.host}"
            start = (f"docker run -d --name {name} --network {network} --network-alias {run.host}"
                     f" --hostname {run.host}")
        else:
            name = f"byoc-repro-{self.slug}"
            start = (f"docker run --rm --name {name} --network none"
                     f" --hostname {opt_ml.CURRENT_HOST} --add-host {opt_ml.CURRENT_HOST}:127.0.0.1")
        lines = [
            start,
            *self.command.docker_run([
                " ".join(f"-e {shlex.quote(f'{k}={v}')}" for k, v in self.environment.items()),
                *(f"-v {shlex.quote(f'{where}/{Path(m).name}:{m}')}" for m in MOUNTED),
                *added,
            ], self.image),
        ]
        command = " \\\n    ".join(lines)
        if pipe_channels:  # the feeder first, as the harness starts it (pipe.py); it runs until it is stopped
            feeder = " \\\n    ".join([
                f"docker run -d --rm --name {name}-feeder --network none",
                f"-v {shlex.quote(f'{where}/input:/opt/ml/input')}",
                f"-v {shlex.quote(f'{where}/feed:{pipe.FEED_DIR}:ro')}",
                f"--entrypoint {pipe.ENTRYPOINT[0]} {shlex.join([self.image, *pipe.ENTRYPOINT[1:], *pipe_channels])}"])
            command = f"{feeder}\n{command}\ndocker kill {name}-feeder"
        if self.signal_at is None or network:
            return command
        return f"{command} &\nsleep {self.signal_at:.1f}; docker kill --signal TERM {name}; time wait"


@dataclass(frozen=True)
class HostEvidence:
    """One host of a multi-host job, as a verdict's evidence (verdicts.Evidence)."""

    label: str
    logs: str
    job: TrainingRun

    def reproduce(self, repro_dir: Path) -> str:
        return self.job.reproduce(repro_dir)


@dataclass
class HostContainers:
    """What the harness creates for one host of a job: its container, its volumes and, with Pipe channels, the
    feeder that writes their FIFOs. A context manager: all of it is removed on leaving, whatever ends the block."""

    engine: Engine
    volumes: list[str] = field(default_factory=list)
    container: Container = None  # type: ignore[assignment]  # None only while it is being created
    feeder: Container | None = None

    def __enter__(self) -> HostContainers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for container in (self.feeder, self.container):
            if container is not None:
                self.engine.remove(container)
        for volume in self.volumes:
            self.engine.remove_volume(volume)


SIGTERM_BIT = 1 << (15 - 1)  # SIGTERM in the signal masks of /proc/<pid>/status and ps
POLL = 0.05  # seconds between looks at a container that is being signalled


@dataclass(frozen=True)
class Disposition:
    """How PID 1 of a container treats SIGTERM, as `ps` on the engine's host shows it (CAUGHT, BLOCKED, IGNORED)."""

    command: str
    caught: bool  # a handler is installed
    blocked: bool  # held pending, for the program to take (signalfd, sigwait)
    ignored: bool
    waiting: bool = False  # in sigwait()/sigtimedwait(), as tini is: the kernel queues the signals it waits for

    @property
    def receives(self) -> bool:
        """False when the kernel drops SIGTERM sent to this PID 1: not caught, blocked or waited for."""
        return self.caught or self.blocked or self.waiting

    @staticmethod
    def may_take(disposition: Disposition | None) -> bool:
        """Whether SIGTERM sent now might reach the program: PID 1 catches, blocks or waits for it, or that is
        unknown."""
        return disposition is None or disposition.receives

    @property
    def ready(self) -> bool:
        """Ready to be sent SIGTERM: a handler installed, or waiting for it. Blocked alone may be a moment of start-up
        (a framework's `train` blocks signals while it starts the script) after which a SIGTERM still pending with
        no handler is dropped; a program that takes signals only by blocking them (signalfd) gets its signal at the
        latest moment instead."""
        return self.caught or self.waiting

    def describe(self) -> str:
        how = ("catches" if self.caught else "blocks" if self.blocked else "waits in sigtimedwait() for"
               if self.waiting else "ignores" if self.ignored else "has no handler for")
        return f"PID 1 ({self.command}) {how} SIGTERM"


def pid1_disposition(container: Container) -> Disposition | None:
    """PID 1's SIGTERM disposition, read through the engine (`docker top`), so the image needs no tools;
    None if the engine's `ps` cannot tell (or the container is gone)."""
    row = pid1_columns(container, "pid,caught,blocked,ignored,wchan:40,args")
    if row is None:
        return None
    try:
        masks = [int(row[name], 16) & SIGTERM_BIT for name in ("CAUGHT", "BLOCKED", "IGNORED")]
    except (KeyError, ValueError):
        return None
    # While a process waits in sigtimedwait() the kernel unblocks the waited signals in the mask ps shows, so
    # where it sleeps tells instead.
    waiting = "sigtimedwait" in row.get("WCHAN", "")
    return Disposition(row.get("COMMAND", ""), *(bool(mask) for mask in masks), waiting=waiting)


EXIT_POLL = 0.25  # seconds between looks at jobs nobody signals: only their ends are waited for, and a look a moment
# late changes no duration (the engine's clock times a run that ended)


class Signalling:
    """How the training loop signals a job while it runs: this one, not at all."""

    sends: ClassVar[bool] = False  # whether the harness signals the job (see TrainingRunner._run_jobs's twin rule)

    def look(self, job: Job, running: list[Host], clock: Callable[[], float]) -> None:
        """One look at the job, whose hosts `running` are still running."""


@dataclass
class SpotInterruption(Signalling):
    """SIGTERM `at` seconds into each host's run, whatever its PID 1 does, as a spot interruption stops a job
    (TRAIN-19); the SIGKILL that follows is the loop's deadline."""

    at: float
    sends: ClassVar[bool] = True

    def look(self, job: Job, running: list[Host], clock: Callable[[], float]) -> None:
        for host in running:
            if host.run.signal_at is None and host.seconds_in(clock()) >= self.at:
                with contextlib.suppress(docker.errors.APIError):  # it may have exited a moment ago
                    host.container.kill("SIGTERM")
                    host.run.signal_at = host.seconds_in(clock())


@dataclass
class WhenReady(Signalling):
    """TRAIN-17's SIGTERM to every running host of the job, due `due` seconds into the job (its first host's clock):
    sent once each one's PID 1 is ready to take it, or from `latest` seconds in once each one's PID 1 may take it (see
    training.SIGNAL_LATEST). PID 1 is read and noted (TrainingRun.note_pid1) at every look from `read_from` seconds
    in; what it showed just before the signal is what it did with it. Each host's signal_at is on its own clock."""

    due: float
    latest: float
    read_from: float = 0.0  # 0: from the start, so that a run that ends before its signal is judged on its PID 1 too
    sends: ClassVar[bool] = True

    def look(self, job: Job, running: list[Host], clock: Callable[[], float]) -> None:
        if job.run.signal_at is not None or job.seconds_in(clock()) < self.read_from:
            return
        seen = {id(host): pid1_disposition(host.container) for host in running}
        if any(seen[id(host)] is None and exit_code(host.container) is not None for host in running):
            return  # unreadable because a host has just exited: the loop collects it before anything is sent
        now = clock()
        for host in running:
            host.run.note_pid1(seen[id(host)], host.seconds_in(now))
        ready = all(disposition and disposition.ready for disposition in seen.values())
        late = job.seconds_in(now) >= self.latest and all(map(Disposition.may_take, seen.values()))
        if job.seconds_in(now) < self.due or not (ready or late):
            return
        for host in running:
            with contextlib.suppress(docker.errors.APIError):  # it may have exited a moment ago
                host.container.kill("SIGTERM")
                host.run.signal_at = host.seconds_in(clock())
            # Read after only when it could not be read before (PID 1 may be gone by then).
            host.run.disposition = seen[id(host)] or pid1_disposition(host.container)
        # Its first host had exited: the job's signal time is its hosts' earliest.
        sent = [host.run.signal_at for host in running if host.run.signal_at is not None]
        if job.run.signal_at is None and sent:
            job.run.signal_at = min(sent)


@dataclass(eq=False)
class Job:
    """A training job as the loop runs it: its hosts' runs (TrainingRun.hosts), how it is signalled and what the
    hosts are given and leave."""

    run: TrainingRun  # algo-1's; the other hosts are its peers
    signalling: Signalling = field(default_factory=Signalling)
    checkpoints: str | None = None  # the caller's volume at /opt/ml/checkpoints
    read_output: bool = False
    failed: bool = False  # a host exited non-zero or could not start: SageMaker fails the whole job
    started: float | None = None  # when its first host started: the job's clock

    def seconds_in(self, now: float) -> float:
        return now - (self.started if self.started is not None else now)


@dataclass(eq=False)
class Host:
    """One host of a job in the loop: its run, its containers and when it started (its own clock)."""

    job: Job
    run: TrainingRun
    containers: HostContainers
    started: float | None = None  # None: it could not start

    @property
    def container(self) -> Container:
        return self.containers.container

    def seconds_in(self, now: float) -> float:
        return now - (self.started if self.started is not None else now)


class TrainingRunner:
    """Runs one training job of the image: the command it is started with and, in script mode, the user's code
    and the hyperparameters as the SDK writes them."""

    def __init__(self, engine: Engine, image: str, *, command: Command | None = None,
                 code: script.Script | None = None, specs: list[Hyperparameter] | None = None,
                 image_environment: dict[str, str] | None = None, clock: Callable[[], float] = time.monotonic,
                 pause: Callable[[float], None] = time.sleep) -> None:
        self.engine = engine
        self.image = image
        self.command = command or Command()
        self.script = code
        self.specs = specs or []  # the declared hyperparameters, for their JSON encoding in script mode
        self.image_environment = image_environment or {}  # the image's ENV, where baked-in code is named
        self.clock, self.pause = clock, pause  # the training loop's (unit tests give their own)

    @contextlib.contextmanager
    def _network(self, job: Job) -> Iterator[str | None]:
        """A multi-host job's network, removed on leaving; a single-host job has none."""
        if not job.run.peers:
            yield None
            return
        network = self.engine.job_network(f"train-{job.run.slug}-net")
        try:
            yield network
        finally:
            self.engine.remove_network(network)

    @contextlib.contextmanager
    def _host(self, run: TrainingRun, network: str | None = None, checkpoints: str | None = None
              ) -> Iterator[HostContainers]:
        """One host's container, removed on leaving: with no network for a single-host job, else on the job's
        network, where the other hosts reach it by its host name. FastFile channels are volumes of their own, mounted
        read-only; Pipe channels come with a feeder container (see pipe.py)."""
        role = f"train-{run.slug}" if network is None else f"train-{run.slug}-{run.host}"
        with HostContainers(self.engine) as host:
            volumes: dict[str, str] = {}
            for target in MOUNTED:
                volumes[target] = self.engine.volume(f"{role}{target.replace('/', '-')}")
                host.volumes.append(volumes[target])
            mounts = [self.engine.mount(volume, target) for target, volume in volumes.items()]
            if checkpoints is not None:  # the caller's volume: it outlives this container
                mounts.append(self.engine.mount(checkpoints, opt_ml.CHECKPOINTS))
            for channel, files in run.training_input.fastfile_channels(run.host).items():
                volume = self.engine.filled_volume(f"{role}-fastfile-{channel}", self.image, files)
                host.volumes.append(volume)
                mounts.append(self.engine.mount(volume, f"{opt_ml.DATA_DIR}/{channel}", read_only=True))
            if network is None:
                # With no network, Docker does not map the hostname; toolkit images resolve every host in
                # resourceconfig.json and retry for minutes when they cannot.
                networking: dict = {"network_mode": "none", "extra_hosts": {run.host: "127.0.0.1"}}
            else:
                networking = {"network": network, "networking_config": {
                    network: self.engine.client.api.create_endpoint_config(aliases=[run.host])}}
            host.container = self.engine.create_container(
                self.image,
                run.command.args,
                entrypoint=run.command.entrypoint,
                role=role,
                mounts=mounts,
                environment=run.environment,
                hostname=run.host,
                **networking,
                **self.engine.limits(),
            )
            host.container.put_archive("/opt/ml/input", tar_of(run.training_input.files(run.host),
                                                               run.training_input.directories()))
            host.container.put_archive("/opt/ml/output", tar_of({}, ("data",)))
            if run.image_files:
                host.container.put_archive("/", tar_of({path.lstrip("/"): content
                                                         for path, content in run.image_files.items()}))
            pipe_channels = run.training_input.in_mode("Pipe")  # the feeder is told the channels, not its files
            if pipe_channels:
                host.feeder = self.engine.create_container(
                    self.image, list(pipe_channels), entrypoint=pipe.ENTRYPOINT, role=f"{role}-feeder",
                    mounts=[self.engine.mount(volumes["/opt/ml/input"], "/opt/ml/input")], network_mode="none",
                    **self.engine.limits())
                feed = run.training_input.pipe_feed(run.host)
                host.feeder.put_archive("/", tar_of({f"{pipe.FEED_DIR.lstrip('/')}/{feed_file}": content
                                                     for feed_file, content in feed.items()}))
            yield host

    def _new_run(self, slug: str, label: str, training_input: opt_ml.TrainingInput, *,
                 probe: bool = False) -> TrainingRun:
        job_name = f"byoc-conformance-{self.engine.run_id}-{slug}"
        environment = {
            "TRAINING_JOB_NAME": job_name,
            "TRAINING_JOB_ARN": f"arn:aws:sagemaker:us-east-1:000000000000:training-job/{job_name}",
        }
        image_files: dict[str, bytes] = {}
        if self.script:
            program, code = self.script.entry_point, self.script.packed
            if probe:
                program = script.PROBE_NAME
                code = self.script.sourcedir({program: script.probe_source(self.script.entry_point)})
            training_input = dataclasses.replace(
                training_input, code=code,
                hyperparameters=self.script.hyperparameters(training_input.hyperparameters, self.specs, job_name,
                                                            program))
        elif probe:  # code baked into the image: the probe goes next to it and is named in its place
            baked = self.baked_program
            if baked is None:
                raise Unclaimed("no script: neither --byoc-entry-point nor the image's SAGEMAKER_PROGRAM names one")
            # The training toolkit runs baked-in code from /opt/ml/code whatever SAGEMAKER_SUBMIT_DIRECTORY says.
            image_files[f"{script.CODE_DIR}/{script.PROBE_NAME}"] = script.probe_source(baked)
            environment[script.USER_PROGRAM_ENV] = script.PROBE_NAME
        run = TrainingRun(slug, label, self.image, training_input, environment, command=self.command,
                          host=training_input.hosts[0], image_files=image_files)
        if len(training_input.hosts) > 1:
            run.peers = [dataclasses.replace(run, host=host, label=f"{label}: host {host}", peers=[])
                         for host in training_input.hosts[1:]]
            run.label = f"{label}: host {run.host}"
        return run

    @property
    def baked_program(self) -> str | None:
        """The entry point an image that extends a framework image names in its ENV, with its code inside."""
        return self.image_environment.get(script.USER_PROGRAM_ENV) or None

    @staticmethod
    def _start(run: TrainingRun, host: HostContainers) -> bool:
        """Starts the host: its Pipe feeder first, so that the FIFOs of epoch 0 are there soon."""
        if host.feeder is not None:
            try:
                host.feeder.start()
            except docker.errors.APIError as error:
                run.start_error = (f"the harness could not feed the Pipe channels: it runs /bin/sh and mkfifo from the "
                                   f"image, and {error.explanation or error}")
                return False
        try:
            host.container.start()
        except docker.errors.APIError as error:
            run.start_error = str(error.explanation or error)
            return False
        return True

    def _collect(self, run: TrainingRun, host: HostContainers, read_output: bool = False) -> None:
        """What the run left, streamed to disk: logs, /opt/ml/model, the failure file and, if asked, /opt/ml/output;
        and what its Pipe feeder saw."""
        def scratch(what: str) -> Path:
            return self.engine.scratch_file(f"{run.slug}-{what}")

        container = host.container
        if host.feeder is not None:
            with contextlib.suppress(docker.errors.APIError):
                host.feeder.kill()  # it waits for the next epoch's reader, which does not come
            run.feed = pipe.Feed.parse(tuple(run.training_input.in_mode("Pipe")),
                                       save_logs(host.feeder, scratch("feeder-log")))

        run.log_file = scratch("log")
        run.logs = save_logs(container, run.log_file)
        model = scratch("model.tar")
        run.model_archive = model if save_archive(container, "/opt/ml/model", model) else None
        failure = scratch("failure.tar")
        run.failure = next(iter(files_in(failure).values()), None) if save_archive(
            container, "/opt/ml/output/failure", failure) else None
        if run.training_input.checkpoints:
            kept = scratch("checkpoints.tar")
            run.checkpoint_files = listing(kept) if save_archive(container, opt_ml.CHECKPOINTS, kept) else None
        if read_output:  # only where the metrics are judged
            output = scratch("output.tar")
            if save_archive(container, "/opt/ml/output", output):
                run.output_files = files_in(output)

    def run(
        self,
        slug: str,
        label: str,
        training_input: opt_ml.TrainingInput,
        *,
        deadline: float,
        read_output: bool = False,
        probe: bool = False,
        checkpoints: str | None = None,
        stop_at: float | None = None,
    ) -> TrainingRun:
        """One job; a single-host one may keep /opt/ml/checkpoints in the caller's volume, and be stopped part-way
        as a spot interruption stops it: SIGTERM `stop_at` seconds in, SIGKILL at the deadline."""
        run = self._new_run(slug, label, training_input, probe=probe)
        signalling = Signalling() if stop_at is None else SpotInterruption(stop_at)
        job = Job(run, signalling, checkpoints=checkpoints, read_output=read_output)
        if run.peers:
            self._run_jobs([job], deadline, _to_end([job]))
        else:
            self._run_jobs([job], deadline, f"the {run.label} to end", watched=run)
        return run

    def interrupted_and_resumed(self, training_input: opt_ml.TrainingInput, *, stop_at: float, grace: float,
                                deadline: float) -> tuple[TrainingRun, TrainingRun]:
        """Managed spot training: a run stopped `stop_at` seconds in (SIGTERM, then SIGKILL `grace` seconds later),
        then a run of the same input started on what the first left in /opt/ml/checkpoints."""
        training_input = dataclasses.replace(training_input, checkpoints=True)
        volume = self.engine.volume("train-checkpoints")
        try:
            interrupted = self.run("interrupted", "training run stopped part-way, as a spot interruption stops it",
                                   training_input, deadline=stop_at + grace, checkpoints=volume, stop_at=stop_at)
            resumed = self.run("resumed", "training run started again on the stopped run's checkpoints",
                               training_input, deadline=deadline, checkpoints=volume)
        finally:
            self.engine.remove_volume(volume)
        return interrupted, resumed

    def signalled_jobs(self, training_input: opt_ml.TrainingInput, *, signal_at: float, latest: float,
                       deadline: float) -> tuple[TrainingRun, TrainingRun]:
        """Two multi-host jobs of the same input started together: one sent SIGTERM on every host, as SageMaker
        stops a job, the twin left alone. The signal is due `signal_at` seconds in and goes out once PID 1 handles
        it on every host still running (from `latest` seconds in, once every host's PID 1 may take it); PID 1 is
        read from the due moment on."""
        signalled = self._new_run("sigterm-job", "multi-host job sent SIGTERM", training_input)
        twin = self._new_run("sigterm-job-twin", "unsignalled twin of the multi-host SIGTERM job", training_input)
        signalled.signal_due = signal_at
        jobs = [Job(signalled, WhenReady(signal_at, latest, read_from=signal_at)), Job(twin)]
        self._run_jobs(jobs, deadline, _to_end(jobs))
        return signalled, twin

    def signalled_with_twin(self, training_input: opt_ml.TrainingInput, *, signal_at: float, latest: float,
                            deadline: float) -> tuple[TrainingRun, TrainingRun]:
        """Two runs of the same input started together, so that they share the machine's load: one is sent
        SIGTERM, the twin is left alone. The signal is due `signal_at` seconds in; from then it waits until PID 1
        catches or waits for SIGTERM, past `latest` only while PID 1 shows it would drop it: a program installs its
        handler a moment into its start-up, and a signal sent before that is dropped by the kernel, at a moment that
        depends on the machine's load. PID 1 is read at every look, not only once the signal is due: a run that ends
        first (a short one, or any under load) is still judged on what its PID 1 did with SIGTERM. The signalled run
        is stopped once the twin has ended, or both at the deadline."""
        signalled = self._new_run("sigterm", "training run sent SIGTERM", training_input)
        signalled.signal_due = signal_at
        twin = self._new_run("sigterm-twin", "unsignalled twin of the SIGTERM run", training_input)
        self._run_jobs([Job(signalled, WhenReady(signal_at, latest)), Job(twin)], deadline,
                       "the SIGTERM run and its twin to end", watched=signalled, whose="the signalled run's")
        return signalled, twin

    def _run_jobs(self, jobs: list[Job], deadline: float, what: str, *, watched: TrainingRun | None = None,
                  whose: str = "") -> None:
        """The training loop: jobs started together (a multi-host one on a network of its own), looked at until
        each has ended or the deadline, then collected; every container, volume and network is removed on leaving.
        A job ends when every host has exited, or, as SageMaker fails the whole job when one host fails, when one
        exits non-zero or cannot start (its other hosts are then stopped). Each job is signalled by its own policy;
        the twin rule: once the other jobs have ended, a signalled job still going is stopped, since it did not stop
        sooner. `what` is the wait said while it lasts, with `watched`'s last log line or else the hosts left."""
        with contextlib.ExitStack() as removal:
            hosts: list[Host] = []
            for job in jobs:
                network = removal.enter_context(self._network(job))
                hosts += [Host(job, run, removal.enter_context(self._host(run, network, job.checkpoints)))
                          for run in job.run.hosts]
            running = [host for host in hosts if self._start_host(host)]
            observe = next((last_log_line(host.container, whose) for host in hosts if host.run is watched),
                           lambda: f"{len(running)} host(s) still running")
            # Signals and stops are timed to the look; a job nobody signals has only its end to wait for.
            interval = POLL if any(job.signalling.sends or job.run.peers for job in jobs) else EXIT_POLL
            with WAITS.waiting(what, deadline, observe):
                for _ in Poll(deadline, interval, self.clock, self.pause).looks():
                    self._look(jobs, running)
                    if not running or self._others_ended(jobs, running):
                        break
            now = self.clock()
            for host in running:
                host.run.killed_at_deadline, host.run.duration = True, host.seconds_in(now)
                with contextlib.suppress(docker.errors.APIError):
                    host.container.kill()
            for host in hosts:
                # A single host that could not start left nothing to read; a multi-host job's hosts are all read.
                if host.started is not None or host.job.run.peers:
                    self._collect(host.run, host.containers, host.job.read_output)

    def _start_host(self, host: Host) -> bool:
        if not self._start(host.run, host.containers):
            host.job.failed = True
            return False
        host.started = self.clock()  # each host's own clock: they start one after another
        if host.job.started is None:
            host.job.started = host.started
        return True

    def _look(self, jobs: list[Job], running: list[Host]) -> None:
        """One look: each job's signalling, then the hosts that have exited, then the other hosts of a failed job."""
        for job in jobs:
            hosts = [host for host in running if host.job is job]
            if hosts:
                job.signalling.look(job, hosts, self.clock)
        for host in list(running):
            code = exit_code(host.container)
            if code is not None:
                host.run.exit_code = code
                host.run.duration = _engine_duration(host.container) or host.seconds_in(self.clock())
                running.remove(host)
                host.job.failed |= code != 0
        for host in [host for host in running if host.job.failed]:  # SageMaker fails the whole job: its hosts stop
            host.run.stopped_with_job, host.run.duration = True, host.seconds_in(self.clock())
            with contextlib.suppress(docker.errors.APIError):
                host.container.kill()
            running.remove(host)

    @staticmethod
    def _others_ended(jobs: list[Job], running: list[Host]) -> bool:
        """The twin rule: the jobs left alone have ended and only signalled ones still run."""
        return any(not job.signalling.sends for job in jobs) and all(host.job.signalling.sends for host in running)


def _to_end(jobs: list[Job]) -> str:
    """The wait said while multi-host jobs run."""
    return f"{' and '.join(job.run.label.partition(':')[0] for job in jobs)} to end"


def _engine_duration(container: Container) -> float | None:
    """Start to exit of a container that has ended, by the engine's own clock (no polling delay in it)."""
    state = container.attrs.get("State", {})
    try:
        started, finished = (datetime.fromisoformat(re.sub(r"(\.\d{6})\d*", r"\1", state[key]).replace("Z", "+00:00"))
                             for key in ("StartedAt", "FinishedAt"))
    except (KeyError, ValueError):
        return None
    seconds = (finished - started).total_seconds()
    return seconds if seconds >= 0 else None


def last_log_line(container: Container, whose: str = "") -> Callable[[], str]:
    """What a long wait says it saw last: the container's last log line."""
    def observe() -> str:
        line = container.logs(stdout=True, stderr=True, tail=1).decode("utf-8", "replace").strip()
        return f"{whose} log line {line[:160]!r}".strip() if line else f"nothing in {whose or 'the'} log yet"

    return observe

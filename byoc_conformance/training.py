"""Training jobs run as SageMaker runs them (IMG-01, TRAIN-01..20): `docker run IMAGE train` with the single
argument `train`, a fresh /opt/ml tree, hostname algo-1, no network and no AWS credentials."""

from __future__ import annotations

import shlex
import shutil
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import docker.errors
import requests.exceptions
from docker.models.containers import Container

from . import opt_ml
from .engine import Engine, files_in, read_archive, tar_of
from .verdicts import NotApplicable

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
    logs: str = ""
    model_archive: bytes | None = None  # /opt/ml/model as a tar archive; None: it could not be read
    failure: bytes | None = None  # /opt/ml/output/failure, None when absent
    start_error: str | None = None
    killed_at_deadline: bool = False
    signal_at: float | None = None  # seconds after start when SIGTERM was sent

    @property
    def model_files(self) -> dict[str, bytes | None] | None:
        return None if self.model_archive is None else files_in(self.model_archive)

    def outcome(self) -> str:
        if self.start_error:
            return f"`train` could not start: {self.start_error}"
        if self.killed_at_deadline:
            return f"`train` was still running after {self.duration:.1f} s and was stopped by the harness"
        return f"`train` exited with code {self.exit_code} after {self.duration:.1f} s"

    def reproduce(self, repro_dir: Path) -> str:
        """Saves this run's /opt/ml/input under repro_dir and returns the `docker run` that repeats the run."""
        where = (repro_dir / self.slug).resolve()
        shutil.rmtree(where, ignore_errors=True)
        for path, content in self.training_input.files().items():
            (where / "input" / path).parent.mkdir(parents=True, exist_ok=True)
            (where / "input" / path).write_bytes(content)
        for directory in self.training_input.directories():
            (where / "input" / directory).mkdir(parents=True, exist_ok=True)
        (where / "model").mkdir()
        (where / "output" / "data").mkdir(parents=True)
        name = f"byoc-repro-{self.slug}"
        lines = [
            f"docker run --rm --name {name} --network none"
            f" --hostname {opt_ml.CURRENT_HOST} --add-host {opt_ml.CURRENT_HOST}:127.0.0.1",
            " ".join(f"-e {shlex.quote(f'{k}={v}')}" for k, v in self.environment.items()),
            *(f"-v {shlex.quote(f'{where}/{Path(m).name}:{m}')}" for m in MOUNTED),
            f"{shlex.quote(self.image)} train",
        ]
        command = " \\\n    ".join(lines)
        if self.signal_at is None:
            return command
        return f"{command} &\nsleep {self.signal_at:.1f}; docker kill --signal TERM {name}; time wait"


class TrainingRunner:
    def __init__(self, engine: Engine, image: str) -> None:
        self.engine = engine
        self.image = image

    def run(
        self,
        slug: str,
        label: str,
        training_input: opt_ml.TrainingInput,
        *,
        deadline: float,
        signal_at: float | None = None,
    ) -> TrainingRun:
        job_name = f"byoc-conformance-{self.engine.run_id}-{slug}"
        environment = {
            "TRAINING_JOB_NAME": job_name,
            "TRAINING_JOB_ARN": f"arn:aws:sagemaker:us-east-1:000000000000:training-job/{job_name}",
        }
        run = TrainingRun(slug, label, self.image, training_input, environment)
        volumes = {target: self.engine.volume(f"train-{slug}{target.replace('/', '-')}") for target in MOUNTED}
        container = self.engine.create_container(
            self.image,
            ["train"],
            role=f"train-{slug}",
            mounts=[self.engine.mount(volume, target) for target, volume in volumes.items()],
            environment=environment,
            hostname=opt_ml.CURRENT_HOST,
            # With no network, Docker does not map the hostname; toolkit images resolve every host in
            # resourceconfig.json and retry for minutes when they cannot.
            extra_hosts={opt_ml.CURRENT_HOST: "127.0.0.1"},
            network_mode="none",
        )
        try:
            container.put_archive("/opt/ml/input", tar_of(training_input.files(), training_input.directories()))
            container.put_archive("/opt/ml/output", tar_of({}, ("data",)))
            try:
                container.start()
            except docker.errors.APIError as error:
                run.start_error = str(error.explanation or error)
                return run
            started = time.monotonic()
            if signal_at is not None and _wait_for_exit(container, signal_at) is None:
                container.kill("SIGTERM")
                run.signal_at = time.monotonic() - started
            run.exit_code = _wait_for_exit(container, deadline - (time.monotonic() - started))
            run.duration = time.monotonic() - started
            if run.exit_code is None:
                run.killed_at_deadline = True
                container.kill()
            run.logs = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
            run.model_archive = read_archive(container, "/opt/ml/model")
            failure = read_archive(container, "/opt/ml/output/failure")
            run.failure = next(iter(files_in(failure).values()), None) if failure else None
            return run
        finally:
            self.engine.remove(container, volumes.values())


def _wait_for_exit(container: Container, timeout: float) -> int | None:
    """The exit code, or None if the container is still running after `timeout` seconds."""
    try:
        return int(container.wait(timeout=max(timeout, 0.01))["StatusCode"])
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
        return None


class TrainingRuns:
    """The training runs the checks share: each starts on first use and runs once per session."""

    def __init__(self, runner: TrainingRunner, timeout: float, disabled: str | None = None) -> None:
        self.runner = runner
        self.timeout = timeout
        self.disabled = disabled  # why this image is not trained (an inference-only image)
        self._signalled: TrainingRun | None = None

    @cached_property
    def good(self) -> TrainingRun:
        if self.disabled:
            raise NotApplicable(self.disabled)
        return self.runner.run("good-input", "training run with good input", opt_ml.good_input(), deadline=self.timeout)

    @property
    def bad_input_deadline(self) -> float:
        # Rejecting bad input should take no longer than training on good input does; an image that hangs
        # on it fails after this, not after the full --byoc-train-timeout.
        good = self.good
        return min(self.timeout, max(60.0, 5 * good.duration))

    @cached_property
    def empty_channel(self) -> TrainingRun:
        return self.runner.run(
            "empty-channel", "training run with an empty training channel", opt_ml.empty_channel_input(),
            deadline=self.bad_input_deadline,
        )

    @cached_property
    def corrupt_csv(self) -> TrainingRun:
        return self.runner.run(
            "corrupt-csv", "training run with a corrupt CSV file", opt_ml.corrupt_csv_input(),
            deadline=self.bad_input_deadline,
        )

    def signalled(self, signal_at: float, give_up_at: float) -> TrainingRun:
        if self._signalled is None:
            self._signalled = self.runner.run(
                "sigterm", "training run sent SIGTERM", opt_ml.good_input(),
                deadline=give_up_at, signal_at=signal_at,
            )
        return self._signalled

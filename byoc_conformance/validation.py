"""The validation profile run as SageMaker runs it before a listing may be published (MKT-02): for an algorithm the
training job of its TrainingJobDefinition, whose model.tar.gz is then served by the inference image for the transform
job of its TransformJobDefinition; for a model package the transform job alone, on the packaged model. The jobs are
data (profile.py); this module runs them once, writes their outputs where SageMaker names them (below the S3
output path: <job>/output/model.tar.gz, and <input object>.out), and reports a `ProfileRun`; checks/validation.py
judges it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from . import batch, model
from .engine import HarnessError
from .hosting import OWN_MODEL, Endpoint, Hosting, Server
from .jobs import TrainingRun, TrainingRunner
from .outcome import CouldNotRun, Unclaimed
from .plan import Plan, planned_alone
from .profile import Profile, TrainingJob, TransformJob
from .s3 import Buckets, split_uri

STOP_GRACE = 120  # seconds from the SIGTERM at MaxRuntimeInSeconds to SIGKILL, as SageMaker allows


@dataclass
class TrainingStep:
    job: TrainingJob
    run: TrainingRun
    within_harness_limit: bool  # MaxRuntimeInSeconds is within --byoc-train-timeout: the job's own limit applied
    model: Path | None = None  # where model.tar.gz was written; None: the job left no model to write

    @property
    def stopped_at_limit(self) -> bool:
        """Sent SIGTERM at MaxRuntimeInSeconds, as SageMaker stops a job that runs out of time."""
        return self.run.signal_at is not None


@dataclass
class ObjectTransform:
    key: str  # the input object's key below the input prefix
    transform: batch.Transform
    output: Path | None = None  # <key>.out, written when every payload was answered


@dataclass
class TransformStep:
    job: TransformJob
    server: Server
    parameters: tuple[int | str, bytes] = ("not asked", b"")  # GET /execution-parameters: status and body
    objects: list[ObjectTransform] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class ProfileRun:
    profile: Profile
    outputs: Path  # the local directory the profile's S3 outputs were written under (when no mapping covers them)
    training: TrainingStep | None = None
    transform: TransformStep | None = None
    transform_skipped: str | None = None  # why the transform job did not run (training left no model)


class Validation:
    """The request's validation profile, run once per session through the plan."""

    def __init__(self, runner: TrainingRunner, hosting: Hosting, *, profile: Profile | None, buckets: Buckets,
                 requested: bool, training_timeout: float, outputs: Path, plan: Plan | None = None) -> None:
        self.runner, self.hosting = runner, hosting
        self.profile = profile
        self.buckets = buckets
        self.requested = requested  # the declaration has a ValidationSpecification
        self.training_timeout = training_timeout
        self.outputs = outputs
        self.plan = plan or Plan()

    @planned_alone  # MaxRuntimeInSeconds is timed: nothing runs beside the profile
    def run(self) -> ProfileRun:
        if not self.requested:
            raise Unclaimed("the declaration has no ValidationSpecification")
        if self.profile is None:
            raise CouldNotRun("the profile's data is in S3 and no --byoc-s3 maps it: its jobs were not run; give "
                              "--byoc-s3 s3://bucket/prefix=./local-data for each prefix it names")
        result = ProfileRun(self.profile, self.outputs)
        model_archive = self.profile.transform.model if self.profile.transform else None
        if self.profile.training is not None:
            result.training = self._train(self.profile.training)
            model_archive = result.training.model
        if self.profile.transform is not None:
            if model_archive is None:
                result.transform_skipped = "the training job left no model to transform with"
            else:
                result.transform = self._transform(self.profile.transform, model_archive)
        return result

    def _output(self, uri: str, key: str) -> Path:
        """The local file an object written at `uri` + `key` becomes."""
        mapped = self.buckets.output_directory(uri, "S3OutputPath")
        if mapped is not None:
            return mapped / key
        bucket, prefix = split_uri(uri, "S3OutputPath")
        return self.outputs / bucket / prefix / key

    def _train(self, job: TrainingJob) -> TrainingStep:
        limit = job.max_runtime
        within = limit is not None and limit <= self.training_timeout
        label = f"validation profile {self.profile.name!r}: training job"  # type: ignore[union-attr]
        if within:
            run = self.runner.run("profile-training", label, job.input, deadline=limit + STOP_GRACE, stop_at=limit)
        else:
            run = self.runner.run("profile-training", label, job.input, deadline=self.training_timeout)
        step = TrainingStep(job, run, within)
        if run.exit_code == 0 and not step.stopped_at_limit and run.model_files:
            destination = self._output(job.output_path, job.model_key)
            destination.parent.mkdir(parents=True, exist_ok=True)
            step.model = model.pack(run.model_archive, destination)  # type: ignore[arg-type]
        return step

    def _transform(self, job: TransformJob, archive: Path) -> TransformStep:
        try:
            archive = model.from_path(archive, self.hosting.engine.scratch_file("profile-model.tar.gz"))
        except HarnessError as error:
            raise CouldNotRun(f"the model package's model cannot be served: {error}") from None
        settings = batch.Job(job.settings)
        endpoint = Endpoint("profile-transform", environment={**job.environment, **settings.environment()},
                            model=OWN_MODEL, model_archive=archive)
        server = self.hosting.server(endpoint).start(self.hosting.startup_timeout)
        step = TransformStep(job, server)
        if server.healthy_after is None:
            return step
        step.parameters = batch.execution_parameters(server)
        container = batch.container_answer(*step.parameters)
        transform_job = batch.Job(job.settings, split_type=job.split_type, compression=job.compression,
                                  content_type=job.content_type,
                                  accept=job.accept, assemble_with=job.assemble_with)
        started = time.monotonic()
        for key, content in sorted(job.objects.items()):
            done = ObjectTransform(key, batch.transform(server, transform_job, content, container))
            if not done.transform.failures:
                done.output = self._output(job.output_path, f"{key}.out")
                done.output.parent.mkdir(parents=True, exist_ok=True)
                done.output.write_bytes(done.transform.output)
            step.objects.append(done)
            if done.transform.failures:
                break  # SageMaker fails the job at its first failed object
        step.seconds = time.monotonic() - started
        return step

"""MKT-02's validation-profile-runs on the records of a profile run: each way a step fails is failed (what SageMaker
saw fail), the harness's own deadline inconclusive, and a run with no data mapped inconclusive, never passed."""

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest

from byoc_conformance import batch, declaration, opt_ml, profile
from byoc_conformance.checks import validation as checks
from byoc_conformance.jobs import TrainingRun
from byoc_conformance.outcome import CouldNotRun
from byoc_conformance.registry import judge
from byoc_conformance.validation import ObjectTransform, ProfileRun, TrainingStep, TransformStep
from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable

from ..suite_runs import SAMPLES

DECLARED = declaration.load(SAMPLES / "reference" / "create-algorithm.json")
TRAINING_JOB = profile.TrainingJob("p-training", opt_ml.TrainingInput({"training": {"a.csv": b"1\n"}}),
                                   "s3://b/out/", 5)
TRANSFORM_JOB = profile.TransformJob("p-transform", {"a.csv": b"1\n", "b.csv": b"2\n"}, "s3://b/out/", {}, {},
                                     "text/csv", "None", "Line", "text/csv", "Line")


def training_step(**run_fields):
    run = TrainingRun("profile-training", "training job", "algo:1", TRAINING_JOB.input, {},
                      **{"exit_code": 0, "duration": 2.0, **run_fields})
    return TrainingStep(TRAINING_JOB, run, True, model=Path("/out/p-training/output/model.tar.gz"))


def transform_step(healthy=True, failures=(), objects=2, payloads=1):
    server = SimpleNamespace(healthy_after=0.5 if healthy else None, label="`serve` container (profile-transform)",
                             logs="", outcome=lambda: "/ping did not answer 200 within the start-up window")
    done = [ObjectTransform(key, batch.Transform({}, payloads=payloads, failures=list(failures)),
                            Path(f"/out/{key}.out"))
            for key in ("a.csv", "b.csv")[:objects]]
    return TransformStep(TRANSFORM_JOB, server, objects=done, seconds=0.3)  # type: ignore[arg-type]


class Planned:
    """The planned run as a check reads it: its record, or what it raised."""

    def __init__(self, run, raised):
        self._run, self._raised = run, raised

    @property
    def run(self):
        if self._raised:
            raise self._raised
        return self._run


def judged(run=None, declared=DECLARED, raised=None):
    validation = Planned(run, raised)
    ctx = SimpleNamespace(image="algo:1", declaration=declared, validation=validation)
    entry = SimpleNamespace(func=checks.validation_profile_runs)
    return judge(entry, ctx)  # type: ignore[arg-type]


def profile_run(training=None, transform=None, skipped=None, noted=()):
    built = profile.Profile("reference-csv", TRAINING_JOB, TRANSFORM_JOB, tuple(noted))
    return ProfileRun(built, Path("/out"), training, transform, skipped)


def test_a_profile_whose_jobs_complete_passes_and_says_what_it_ran_and_wrote():
    summary = judged(profile_run(training_step(), transform_step(), noted=["ResourceConfig.VolumeSizeInGB"]))
    assert summary.startswith("profile 'reference-csv' ran as SageMaker runs it: training job p-training: exit 0 "
                              "after 2.0 s, model.tar.gz at /out/p-training/output/model.tar.gz; transform job "
                              "p-transform: 2 object(s) in 2 payload(s), all answered 2xx in 0.3 s, written as "
                              "/out/a.csv.out, /out/b.csv.out")
    assert summary.endswith("set and not observable offline: ResourceConfig.VolumeSizeInGB")


@pytest.mark.parametrize("step, message", [
    (training_step(exit_code=2, failure=b"bad input: gzip\nmore"), "exited with code 2 after 2.0 s; "
                                                                   "/opt/ml/output/failure: bad input: gzip"),
    (training_step(signal_at=5.0, duration=5.2), "still running at MaxRuntimeInSeconds=5: sent SIGTERM 5.0 s in"),
    (training_step(start_error="no such command"), "could not start: no such command"),
    (dataclasses.replace(training_step(), model=None), "left /opt/ml/model empty"),
])
def test_a_training_job_that_does_not_complete_fails(step, message):
    with pytest.raises(Failed, match="training job: ") as raised:
        judged(profile_run(step, transform_step()))
    assert message in raised.value.observed
    assert raised.value.run is step.run  # its log and its `docker run`


def test_a_training_job_stopped_at_the_harness_deadline_is_inconclusive():
    with pytest.raises(Inconclusive, match="at the harness's --byoc-train-timeout"):
        judged(profile_run(training_step(killed_at_deadline=True, exit_code=None)))


@pytest.mark.parametrize("step, message", [
    (transform_step(healthy=False), "did not become healthy: /ping did not answer 200"),
    (transform_step(failures=["payload 1: HTTP 500 b'boom'"]), "input object 'a.csv': payload 1: HTTP 500 b'boom'"),
    (transform_step(objects=1), "1 output object(s) for 2 input object(s)"),
])
def test_a_transform_job_that_does_not_complete_fails(step, message):
    with pytest.raises(Failed, match="transform job: ") as raised:
        judged(profile_run(training_step(), step))
    assert message in raised.value.observed


def test_a_transform_that_sent_no_payload_is_inconclusive_not_passed():
    with pytest.raises(Inconclusive, match="the 2 input object\\(s\\) hold no record \\(SplitType Line\\): no payload"):
        judged(profile_run(training_step(), transform_step(payloads=0)))


def test_a_transform_with_no_model_to_serve_fails():
    with pytest.raises(Failed, match="transform job: not run: the training job left no model"):
        judged(profile_run(training_step(), skipped="the training job left no model to transform with"))


def test_a_profile_whose_data_is_not_mapped_is_inconclusive():
    with pytest.raises(Inconclusive, match="no --byoc-s3 maps it"):
        judged(raised=CouldNotRun("the profile's data is in S3 and no --byoc-s3 maps it: its jobs were not run"))


def test_a_request_the_api_refuses_fails_without_running_its_jobs():
    specification = dataclasses.replace(DECLARED, validation={**DECLARED.validation, "ValidationRole": "nobody"})
    with pytest.raises(Failed, match="the profile's jobs cannot start: the request is refused first"):
        judged(raised=AssertionError("the profile must not be read"), declared=specification)


def test_without_a_validation_specification_it_is_not_applicable():
    with pytest.raises(NotApplicable):
        judged(declared=dataclasses.replace(DECLARED, validation=None))

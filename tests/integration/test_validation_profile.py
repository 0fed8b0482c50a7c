"""MKT-02 on real containers: a Marketplace request's validation profile run as SageMaker runs it, on data mapped with
--byoc-s3, proven both ways (conforming profiles in File and Pipe mode, a model package; and profiles that each break
one thing: a training job past MaxRuntimeInSeconds, a transform that needs SplitType Line and declares None, a Gzip
channel the image cannot read). Only MKT-02 is selected: the rest of each image is proven by its own suite."""

from __future__ import annotations

import gzip
import json
import tarfile
from pathlib import Path

import pytest

from ..suite_runs import SAMPLES, run_suite

REQUEST = SAMPLES / "reference" / "create-algorithm.json"
DATA = SAMPLES / "reference" / "validation"
MAPPING = f"--byoc-s3=s3://byoc-samples/validation={DATA}"
PROFILE_CHECK = "validation-profile-runs"


def request(where: Path, change=None, base: Path = REQUEST) -> Path:
    """The reference's CreateAlgorithm request (or `base`), `change`d (given the document and its profile), written
    to `where` with its sample files named where they are."""
    document = json.loads(base.read_text())
    own = document.get("byoc-conformance", {})
    own["channels"] = {name: str(base.parent / path) for name, path in own.get("channels", {}).items()}
    own["invocations"] = {kind: str(base.parent / path) for kind, path in own.get("invocations", {}).items()}
    if "ValidationSpecification" not in document:  # a declaration of its own, with the reference's profile
        document["ValidationSpecification"] = json.loads(REQUEST.read_text())["ValidationSpecification"]
    if change:
        change(document, document["ValidationSpecification"]["ValidationProfiles"][0])
    path = where / "request.json"
    path.write_text(json.dumps(document))
    return path


def profile_run(where: Path, image: str, *options: str):
    report = where / "report"
    run = run_suite(image, where, "-k", "MKT-02", f"--byoc-report={report}", *options)
    checks = {name.split(":")[-1].rstrip("]"): status for name, status in run.checks}
    document = json.loads((report / "report.json").read_text()) if (report / "report.json").exists() else {}
    return run, checks, document


def test_the_reference_profile_runs_and_its_outputs_are_in_the_bundle(sample_images, tmp_path):
    run, checks, document = profile_run(tmp_path, "byoc-samples/reference", f"--byoc-spec={REQUEST}", MAPPING)
    assert checks == {"validation-profile-within-declaration": "passed", PROFILE_CHECK: "passed"}, run.output
    summary = next(line for line in run.output.splitlines() if "ran as SageMaker runs it" in line)
    assert "training job reference-csv-training: exit 0" in summary and "all answered 2xx" in summary, summary
    profile = document["validation_profile"]
    assert [step["step"] for step in profile["steps"]] == ["training", "transform"]
    outputs = tmp_path / "report" / "validation" / "byoc-samples" / "output"
    model = outputs / "training" / "reference-csv-training" / "output" / "model.tar.gz"
    assert profile["steps"][0]["outputs"] == [str(model)]
    with tarfile.open(model) as archive:
        assert archive.getnames() == ["model.json"]
    out = outputs / "transform" / "batch.csv.out"
    assert len(out.read_bytes().splitlines()) == len((DATA / "transform" / "batch.csv").read_bytes().splitlines())
    assert profile["not_observable"] == ["ResourceConfig.VolumeSizeInGB", "TransformResources.InstanceType"]
    assert "## Validation profile" in (tmp_path / "report" / "summary.md").read_text()


def test_a_pipe_mode_profile_streams_its_channel(sample_images, tmp_path):
    def in_pipe_mode(document, profile):
        profile["TrainingJobDefinition"]["InputDataConfig"][0]["InputMode"] = "Pipe"

    spec = request(tmp_path, in_pipe_mode, base=SAMPLES / "pipe" / "byoc-spec.json")
    run, checks, _ = profile_run(tmp_path, "byoc-samples/pipe", f"--byoc-spec={spec}", MAPPING)
    assert checks[PROFILE_CHECK] == "passed", run.output


@pytest.mark.parametrize("features, status", [(4, "passed"), (2, "failed")])
def test_a_model_package_profile_transforms_its_model(features, status, sample_images, tmp_path):
    # A model of 2 features cannot score the 4-feature rows of the profile's data: every payload is refused.
    model = tmp_path / "model.tar.gz"
    weights = tmp_path / "model.json"
    weights.write_text(json.dumps({"features": features, "weights": [1, 2, 3, 4][:features], "bias": 0.5}))
    with tarfile.open(model, "w:gz") as archive:
        archive.add(weights, arcname="model.json")
    package = SAMPLES.parent / "tests" / "data" / "create-model-package.json"
    run, checks, document = profile_run(
        tmp_path, "byoc-samples/reference", f"--byoc-spec={package}", f"--byoc-model={model}",
        f"--byoc-s3=s3://byoc-samples/model-package/input={DATA / 'transform'}",
        f"--byoc-s3=s3://byoc-samples/model-package/model.tar.gz={model}")
    assert checks == {"validation-profile-within-declaration": "passed", PROFILE_CHECK: status}, run.output
    assert [step["step"] for step in document["validation_profile"]["steps"]] == ["transform"]
    if status == "failed":
        assert "transform job: input object 'batch.csv': payload 1: HTTP 4" in run.output, run.output


def past_max_runtime(document, profile):
    job = profile["TrainingJobDefinition"]
    job["HyperParameters"]["epochs"] = "50"  # 50 epochs of at least 0.1 s each: 5 s or more
    job["StoppingCondition"]["MaxRuntimeInSeconds"] = 2


def gzip_channel(document, profile):
    document["TrainingSpecification"]["TrainingChannels"][0]["SupportedCompressionTypes"] = ["None", "Gzip"]
    channel = profile["TrainingJobDefinition"]["InputDataConfig"][0]
    channel["CompressionType"] = "Gzip"
    channel["DataSource"]["S3DataSource"]["S3Uri"] = "s3://byoc-samples/gzipped/"


def unsplit_transform(document, profile):
    transform = profile["TransformJobDefinition"]
    transform["MaxPayloadInMB"] = 1
    transform["TransformInput"]["SplitType"] = "None"
    transform["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = "s3://byoc-samples/large/"


@pytest.mark.parametrize("change, observed", [
    (past_max_runtime, "training job: still running at MaxRuntimeInSeconds=2: sent SIGTERM"),
    (gzip_channel, "training job: `train` exited with code"),
    (unsplit_transform, "over MaxPayloadInMB=1"),
])
def test_a_profile_that_breaks_one_thing_fails_its_run(change, observed, sample_images, tmp_path):
    (tmp_path / "gzipped").mkdir()
    (tmp_path / "gzipped" / "train.csv.gz").write_bytes(gzip.compress((DATA / "training" / "train.csv").read_bytes()))
    (tmp_path / "large").mkdir()
    rows = (DATA / "transform" / "batch.csv").read_bytes()
    (tmp_path / "large" / "batch.csv").write_bytes(rows * (1 + 2**20 // len(rows)))  # one object over 1 MiB
    spec = request(tmp_path, change)
    run, checks, document = profile_run(tmp_path, "byoc-samples/reference", f"--byoc-spec={spec}", MAPPING,
                                        f"--byoc-s3=s3://byoc-samples/gzipped={tmp_path / 'gzipped'}",
                                        f"--byoc-s3=s3://byoc-samples/large={tmp_path / 'large'}")
    assert checks == {"validation-profile-within-declaration": "passed", PROFILE_CHECK: "failed"}, run.output
    message = run.output[run.output.index("MKT-02 (MUST)"):]
    assert observed in message, message
    assert "  reproduce:\n    docker run" in message or "  reproduce:\n    docker network" in message, message
    assert document["validation_profile"]["steps"], document


def test_a_profile_without_its_data_mapped_is_inconclusive(sample_images, tmp_path):
    run, checks, _ = profile_run(tmp_path, "byoc-samples/reference", f"--byoc-spec={REQUEST}")
    assert checks[PROFILE_CHECK] == "inconclusive", run.output
    assert "no --byoc-s3 maps it" in run.output


def test_a_uri_no_mapping_covers_is_one_line_and_exit_4(sample_images, tmp_path):
    run = run_suite("byoc-samples/reference", tmp_path, f"--byoc-spec={REQUEST}",
                    f"--byoc-s3=s3://byoc-samples/validation/training={DATA / 'training'}")
    assert run.exit_code == pytest.ExitCode.USAGE_ERROR, run.output
    assert ("ERROR: byoc-conformance: $.ValidationSpecification.ValidationProfiles[0].TrainingJobDefinition."
            "InputDataConfig[1].DataSource.S3DataSource.S3Uri: no --byoc-s3 mapping covers "
            "s3://byoc-samples/validation/validation/") in run.output
    assert "Traceback" not in run.output

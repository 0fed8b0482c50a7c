"""validation.py runs a profile's jobs as data says (fakes for the engine): the training job with its
MaxRuntimeInSeconds, its model.tar.gz written where SageMaker names it and served for the transform, whose outputs go
to <input object>.out; nothing runs without mapped data, and the transform waits for a model."""

import io
import tarfile
from pathlib import Path

import pytest

from byoc_conformance import opt_ml, profile
from byoc_conformance.exchange import Answer
from byoc_conformance.jobs import TrainingRun
from byoc_conformance.outcome import CouldNotRun, Unclaimed
from byoc_conformance.s3 import Buckets
from byoc_conformance.validation import STOP_GRACE, Validation

TRAINING_INPUT = opt_ml.TrainingInput({"training": {"a.csv": b"1,2\n"}}, {"epochs": "3"})


def training_job(max_runtime=30):
    return profile.TrainingJob("p-training", TRAINING_INPUT, "s3://bucket/output/training/", max_runtime)


def transform_job(model=None):
    return profile.TransformJob("p-transform", {"batch.csv": b"1\n2\n3\n", "more/b.csv": b"4\n"},
                                "s3://bucket/output/transform/", {"MaxConcurrentTransforms": 1}, {"MODE": "job"},
                                "text/csv", "None", "Line", "text/csv", "Line", model)


class Runner:
    def __init__(self, tmp_path, exit_code=0):
        self.tmp_path, self.exit_code, self.calls = tmp_path, exit_code, []

    def run(self, slug, label, training_input, *, deadline, stop_at=None):
        self.calls.append({"deadline": deadline, "stop_at": stop_at, "input": training_input})
        archive = self.tmp_path / "model.tar"  # /opt/ml/model as the engine's archive API gives it
        with tarfile.open(archive, "w") as tar:
            data = b'{"weights": [1]}'
            member = tarfile.TarInfo("model/model.json")
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
        return TrainingRun(slug, label, "algo:1", training_input, {}, exit_code=self.exit_code, duration=1.0,
                           model_archive=archive)


class Server:
    healthy_after = 0.2

    def __init__(self, endpoint):
        self.endpoint, self.sent = endpoint, []

    def start(self, window):
        return self

    def exchange(self, method, path, **options):
        return Answer(404)

    def send(self, request, **options):
        self.sent.append(request)
        return Answer(200, b"".join(b"0.5\n" for _ in request.body.splitlines()))


class Engine:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path

    def scratch_file(self, name):
        return self.tmp_path / name


class Hosting:
    startup_timeout = 30.0

    def __init__(self, tmp_path):
        self.engine, self.servers = Engine(tmp_path), []

    def server(self, endpoint):
        self.servers.append(Server(endpoint))
        return self.servers[-1]


def validation(tmp_path, built, buckets=None, exit_code=0, timeout=600.0):
    runner, hosting = Runner(tmp_path, exit_code), Hosting(tmp_path)
    buckets = buckets or Buckets.parse([f"s3://bucket/in={tmp_path}"], tmp_path)
    checked = Validation(runner, hosting, profile=built, buckets=buckets, requested=True, training_timeout=timeout,
                         outputs=tmp_path / "bundle" / "validation")
    return checked, runner, hosting


def test_an_algorithm_s_profile_trains_then_transforms_with_the_model_it_wrote(tmp_path):
    checked, runner, hosting = validation(tmp_path, profile.Profile("p", training_job(), transform_job()))
    run = checked.run
    assert runner.calls[0]["stop_at"] == 30 and runner.calls[0]["deadline"] == 30 + STOP_GRACE
    model = tmp_path / "bundle" / "validation" / "bucket" / "output" / "training" / "p-training" / "output" / \
        "model.tar.gz"
    assert run.training.model == model
    with tarfile.open(model) as archive:
        assert archive.getnames() == ["model.json"]  # the model directory's contents at the archive's root
    (server,) = hosting.servers
    assert server.endpoint.environment["MODE"] == "job" and server.endpoint.environment["SAGEMAKER_BATCH"] == "true"
    assert server.endpoint.model_archive == model  # the model it wrote, served
    outputs = tmp_path / "bundle" / "validation" / "bucket" / "output" / "transform"
    assert [done.output for done in run.transform.objects] == [outputs / "batch.csv.out", outputs / "more/b.csv.out"]
    assert (outputs / "batch.csv.out").read_bytes() == b"0.5\n0.5\n0.5\n"
    assert all(request.headers["Accept"] == "text/csv" for request in server.sent)


def test_a_max_runtime_past_the_harness_timeout_leaves_the_harness_deadline(tmp_path):
    checked, runner, _ = validation(tmp_path, profile.Profile("p", training_job(max_runtime=86400), None), timeout=600)
    assert checked.run.training.within_harness_limit is False
    assert runner.calls[0] == {"deadline": 600, "stop_at": None, "input": TRAINING_INPUT}


def test_a_training_job_that_fails_writes_no_model_and_the_transform_does_not_run(tmp_path):
    checked, _, hosting = validation(tmp_path, profile.Profile("p", training_job(), transform_job()), exit_code=2)
    run = checked.run
    assert run.training.model is None and run.transform is None and hosting.servers == []
    assert run.transform_skipped == "the training job left no model to transform with"


def test_outputs_below_a_directory_mapping_go_there(tmp_path):
    (tmp_path / "out").mkdir()
    buckets = Buckets.parse([f"s3://bucket/output={tmp_path / 'out'}"], tmp_path)
    checked, _, _ = validation(tmp_path, profile.Profile("p", training_job(), None), buckets=buckets)
    assert checked.run.training.model == tmp_path / "out" / "training" / "p-training" / "output" / "model.tar.gz"


def test_a_model_package_transforms_its_own_model(tmp_path):
    model = tmp_path / "package"
    model.mkdir()
    (model / "model.json").write_text("{}")
    checked, runner, hosting = validation(tmp_path, profile.Profile("p", None, transform_job(model)))
    assert checked.run.training is None and runner.calls == []
    assert len(checked.run.transform.objects) == 2


@pytest.mark.parametrize("requested, raised", [(False, Unclaimed), (True, CouldNotRun)])
def test_without_a_profile_or_its_data_nothing_runs(requested, raised, tmp_path):
    checked = Validation(Runner(tmp_path), Hosting(tmp_path), profile=None, buckets=Buckets(), requested=requested,
                         training_timeout=600, outputs=Path(tmp_path))
    with pytest.raises(raised):
        _ = checked.run

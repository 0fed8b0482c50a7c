"""Every check proven both ways on real containers: the reference image passes, and each broken sample
fails exactly the requirement IDs listed in its expected.json."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from ..suite_runs import SAMPLES, area_selection, judged_area, run_suite, sample_options

pytestmark = pytest.mark.docker
SAMPLE_NAMES = sorted(path.parent.name for path in SAMPLES.glob("*/expected.json"))
# Broken servers that never become healthy would otherwise keep the suite waiting SageMaker's 8 minutes.
WINDOW = "--byoc-startup-timeout=15"


# Not applicable to the reference: modes it does not claim (the multi-models label, response streaming, the
# serverless profile, asynchronous inference, a pipeline: PIPE-02 also passes on its own), and PIPE-03, as it opens
# no second port.
CLAIMED_MODES = ("MME-02", "MME-03", "MME-04", "MME-05", "MME-06", "STREAM-01", "STREAM-02", "IMG-10", "SLS-02",
                 "SLS-03", "SLS-04", "SLS-05", "SLS-06", "PIPE-03", "ASYNC-01", "PIPE-01", "PIPE-02", "PIPE-04")
REFERENCE_SPEC = f"--byoc-spec={SAMPLES / 'reference' / 'byoc-spec.json'}"


# Sample suites run this many at a time (BYOC_SAMPLES_AT_ONCE). One suite alone leaves two thirds of the machine's
# 2 cores idle; four keep them about 90 % busy. Verdicts must not depend on load: tests/integration/test_stability.py.
SAMPLES_AT_ONCE = int(os.environ.get("BYOC_SAMPLES_AT_ONCE", "4"))


@pytest.fixture(scope="module", autouse=True)
def sample_runs(request, sample_images, tmp_path_factory) -> Iterator[dict[str, Future]]:
    """The suite run of every selected sample, started SAMPLES_AT_ONCE at a time in the tests' order when the module's
    first test starts, so that its other tests run meanwhile; each sample test waits for its own."""
    selected = [item.callspec.params["sample"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_sample_fails_exactly_its_listed_requirements"]

    # Made here, one after another: tmp_path_factory is not safe to call from several threads at once.
    places = {sample: tmp_path_factory.mktemp(sample) for sample in selected}

    def run(sample: str):
        # Samples of declaration-driven checks run with the declaration they name (and script-mode samples with
        # their script); the others without any. A sample that replaces one program of a conforming one is judged on
        # that program's area (suite_runs.judged_area).
        return run_suite(f"byoc-samples/{sample}", places[sample], WINDOW, *sample_options(sample),
                         *area_selection(judged_area(sample)))

    with ThreadPoolExecutor(SAMPLES_AT_ONCE) as pool:
        futures = {sample: pool.submit(run, sample) for sample in selected}
        try:
            yield futures
        finally:  # an interrupted session starts no more of them
            for future in futures.values():
                future.cancel()
    if table := os.environ.get("BYOC_SAMPLE_TABLE"):
        _write_table(table, futures)


def _write_table(path: str, futures: dict[str, Future]) -> None:
    """Each sample's wall time, the IDs it failed and the status of each of its checks (a line
    "sample<TAB>seconds<TAB>ID ID ...<TAB>check=status ..." each): the figures a change to how samples are run, or to
    the harness's shape, is judged on, its verdicts to be the same before and after."""
    lines = []
    for sample, future in sorted(futures.items()):
        if future.done() and not future.cancelled() and future.exception() is None:
            run = future.result()
            checks = " ".join(f"{name}={status.replace(' ', '_')}" for name, status in sorted(run.checks))
            lines.append(f"{sample}\t{run.seconds:.1f}\t{' '.join(sorted(run.ids_with('failed')))}\t{checks}\n")
    with open(path, "w", encoding="utf-8") as out:
        out.write("".join(lines))


def test_the_reference_image_passes_every_check_outright_with_its_declaration(sample_images, tmp_path):
    run = run_suite("byoc-samples/reference", tmp_path, WINDOW, REFERENCE_SPEC)
    # PIPE-02 applies: the reference carries the accept-bind-to-port label, and so does TRAIN-08: its training channel
    # declares FastFile. SCRIPT-01 does not (no script), nor TRAIN-09 (no channel declares Pipe), nor TRAIN-19 (it
    # does not claim to resume from checkpoints), nor the multi-host checks of TRAIN-07, TRAIN-10, TRAIN-13 and
    # TRAIN-17 (the declaration does not claim SupportsDistributedTraining), nor MME-02..06 (no multi-models label) or
    # STREAM-01/02 (streaming not claimed).
    assert {status for _, status in run.statuses} == {"passed", "not applicable"}, run.output
    assert set(run.statuses) - {(i, "passed") for i, _ in run.statuses} == {
        ("SCRIPT-01", "not applicable"), ("TRAIN-07", "not applicable"), ("TRAIN-09", "not applicable"),
        ("TRAIN-10", "not applicable"), ("TRAIN-13", "not applicable"), ("TRAIN-17", "not applicable"),
        ("TRAIN-19", "not applicable"), ("MKT-02", "not applicable"),  # no ValidationSpecification in it
        *((i, "not applicable") for i in CLAIMED_MODES)}, run.output
    assert f"declaration: {SAMPLES / 'reference' / 'byoc-spec.json'}: 2 channel(s), 3 hyperparameter(s)" in run.output


def test_without_a_declaration_only_the_declaration_driven_checks_are_not_applicable(sample_images, tmp_path):
    run = run_suite("byoc-samples/reference", tmp_path, WINDOW)
    assert "declaration: none (no --byoc-spec, no byoc-spec.json here)" in run.output
    assert run.ids_with("not applicable") == {"TRAIN-04", "TRAIN-06", "TRAIN-23", "METRIC-01", "METRIC-02",
                                              "METRIC-03", "METRIC-05", "MKT-02", "MKT-03", "SERVE-10", "SCRIPT-01",
                                              "TRAIN-07", "TRAIN-08", "TRAIN-09", "TRAIN-10", "TRAIN-13",
                                              "TRAIN-17", "TRAIN-19", "SERVE-15", *CLAIMED_MODES}, run.output
    assert run.ids_with("passed") >= {"TRAIN-05", "SERVE-10", "SERVE-11"}  # these need no declaration
    assert run.exit_code == 0, run.output


def _broken(document: dict, requirement: str) -> None:
    training = document["TrainingSpecification"]
    if requirement == "METRIC-01":  # a tab written as \t: it matches the line as printed, never as SageMaker stores it
        training["MetricDefinitions"][0]["Regex"] = "\\ttrain_mse=(.*?);"
    elif requirement == "METRIC-02":  # 41 definitions
        training["MetricDefinitions"] += [{"Name": f"extra:{n}", "Regex": f"extra{n}=(.*?);"} for n in range(39)]
    elif requirement == "METRIC-03":  # two capture groups
        training["MetricDefinitions"][0]["Regex"] = "(train)_mse=(.*?);"
    elif requirement == "METRIC-05":  # a tuning objective that is not a declared metric
        training["SupportedTuningJobObjectiveMetrics"][0]["MetricName"] = "validation:rmse"
    elif requirement == "MKT-03":  # a hyperparameter both required and defaulted
        training["SupportedHyperParameters"][0]["IsRequired"] = True
    elif requirement == "MKT-02":  # a validation profile with an undeclared channel and a value out of its range
        job = document["ValidationSpecification"]["ValidationProfiles"][0]["TrainingJobDefinition"]
        job["InputDataConfig"][1]["ChannelName"] = "test"
        job["HyperParameters"]["epochs"] = "500"


@pytest.mark.parametrize("requirement", ["METRIC-01", "METRIC-02", "METRIC-03", "METRIC-05", "MKT-02", "MKT-03"])
def test_a_broken_declaration_fails_exactly_its_requirement(requirement, sample_images, tmp_path):
    # The profile MKT-02 judges is in the reference's whole CreateAlgorithm request.
    reference = SAMPLES / "reference" / ("create-algorithm.json" if requirement == "MKT-02" else "byoc-spec.json")
    document = json.loads(reference.read_text())
    _broken(document, requirement)
    own = document["byoc-conformance"]  # the sample files stay where they are
    own["channels"] = {name: str(reference.parent / path) for name, path in own["channels"].items()}
    own["invocations"] = {kind: str(reference.parent / path) for kind, path in own["invocations"].items()}
    (tmp_path / "byoc-spec.json").write_text(json.dumps(document))  # picked up from the current directory
    run = run_suite("byoc-samples/reference", tmp_path, WINDOW, "-k",
                    # METRIC-01 reads a training run's log; the others judge the declaration alone, where METRIC-01
                    # would fail too (a metric never printed, a capture that is not the number).
                    "METRIC-01" if requirement == "METRIC-01" else
                    "METRIC-02 or METRIC-03 or METRIC-05 or MKT-02 or MKT-03")
    assert run.ids_with("failed") == {requirement}, run.output
    if requirement not in ("METRIC-01", "MKT-02"):  # a declaration without a validation profile
        assert "MKT-02" in run.ids_with("not applicable"), run.output
    message = run.output[run.output.index(f"{requirement} ("):]
    if requirement == "METRIC-01":  # the reference prints tabs, which its own validation:mse regex reads as #011
        assert "a tab reads #011 there" in message, message
        assert "  reproduce:\n    docker run " in message, message  # the training run whose log it reads
    else:  # the declaration alone decides
        assert "  reproduce:\n    pytest --image byoc-samples/reference --byoc-spec " in message, message
    if requirement == "MKT-02":  # each broken field, by its path in the request
        job = "$.ValidationSpecification.ValidationProfiles[0].TrainingJobDefinition"
        assert f"{job}.InputDataConfig[1].ChannelName: 'test' is not a declared training channel" in message, message
        assert f"{job}.HyperParameters.epochs: '500' is outside its declaration (Integer 1..50)" in message, message


def test_a_failure_shows_logs_and_a_reproduce_command_that_works(sample_images, tmp_path):
    run = run_suite("byoc-samples/train-no-model", tmp_path, "-k", "TRAIN-13")
    message = run.output[run.output.index("TRAIN-13 (MUST)"):]
    assert "  observed: /opt/ml/model is empty; `train` exited with code 0" in message
    assert "    | training complete" in message
    lines = message.split("  reproduce:\n", 1)[1].splitlines()
    command = "\n".join(itertools.takewhile(lambda line: line.startswith("    "), lines))
    repeated = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert repeated.returncode == 0, repeated.stderr
    assert "(model not saved)" in repeated.stdout
    (run_directory,) = (tmp_path / "byoc-repro").iterdir()  # one directory per run
    assert list((run_directory / "good-input" / "model").iterdir()) == []


def test_a_missing_image_is_one_clear_error(docker_client, tmp_path):
    run = run_suite("byoc-samples/no-such-image:never", tmp_path)
    assert run.exit_code == pytest.ExitCode.USAGE_ERROR
    assert "ERROR: byoc-conformance: image 'byoc-samples/no-such-image:never' is not present locally " \
           "and could not be pulled" in run.output
    assert "Traceback" not in run.output


def test_a_failing_invocation_shows_the_shrunk_payload_and_a_curl_that_reproduces_it(sample_images, tmp_path):
    run = run_suite("byoc-samples/serve-500-on-bad-row", tmp_path, WINDOW, "-k", "SERVE-11")
    message = run.output[run.output.index("SERVE-11 (SHOULD)"):]
    assert "  expected: a 4xx answer to a malformed payload" in message
    assert re.search(r"  observed: HTTP 500 for [a-z -]+; body b[\"']internal error: ", message), message
    assert re.search(r"  request: POST /invocations \(Content-Type: text/csv, Accept: text/csv, \d+ bytes\)", message)
    assert '"POST /invocations HTTP/1.1" 500' in message  # the container's log lines
    lines = message.split("  reproduce:\n", 1)[1].splitlines()
    commands = [line.strip() for line in itertools.takewhile(lambda line: line.startswith("    "), lines)]
    assert commands[0].startswith("docker run -d --rm --name byoc-repro-serve-bad-requests -p 127.0.0.1:8080:8080")
    assert commands[-1].startswith("curl -sS -i -X POST") and "--data-binary @" in commands[-1]
    try:
        subprocess.run(["bash", "-c", "\n".join(commands[:-1])], check=True, timeout=60, capture_output=True)
        repeated = subprocess.run(["bash", "-c", commands[-1]], capture_output=True, text=True, timeout=60)
    finally:
        subprocess.run(["docker", "rm", "-f", "byoc-repro-serve-bad-requests"], capture_output=True)
    assert repeated.stdout.startswith("HTTP/1.1 500"), repeated.stdout


def test_the_same_seed_finds_the_same_failing_payload(sample_images, tmp_path):
    def failing_request(where):
        where.mkdir()
        run = run_suite("byoc-samples/serve-500-on-bad-row", where, WINDOW, "-k", "SERVE-11", "--byoc-seed=7")
        return re.search(r"  request: .*", run.output).group(0)

    assert failing_request(tmp_path / "first") == failing_request(tmp_path / "second")


def test_an_inference_only_image_is_served_the_model_given_with_byoc_model(sample_images, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.json").write_text(json.dumps({"features": 4, "weights": [1, 2, 3, 4], "bias": 0.5}))
    run = run_suite("byoc-samples/reference", tmp_path, WINDOW, f"--byoc-model={model}")
    assert run.exit_code == 0, run.output
    statuses = dict(run.statuses)
    assert {s for i, s in run.statuses if i.startswith("TRAIN-")} == {"not applicable"}, run.output
    assert statuses["SERVE-05"] == statuses["SERVE-07"] == statuses["IMG-01"] == "passed", run.output


@pytest.mark.parametrize("accept, status", [("text/csv", "passed"), ("application/json", "failed")])
def test_a_model_package_request_has_its_profile_judged(accept, status, sample_images, tmp_path):
    document = json.loads((SAMPLES.parent / "tests" / "data" / "create-model-package.json").read_text())
    transform = document["ValidationSpecification"]["ValidationProfiles"][0]["TransformJobDefinition"]
    transform["TransformOutput"]["Accept"] = accept  # the package lists text/csv answers only
    (tmp_path / "create-model-package.json").write_text(json.dumps(document))
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.json").write_text(json.dumps({"features": 4, "weights": [1, 2, 3, 4], "bias": 0.5}))
    run = run_suite("byoc-samples/reference", tmp_path, f"--byoc-model={model}",
                    f"--byoc-spec={tmp_path / 'create-model-package.json'}", "-k", "MKT-02")
    # On the request alone (validation-profile-runs, with no --byoc-s3 given, is inconclusive or fails with it).
    assert dict(run.checks)["test_requirement[MKT-02:validation-profile-within-declaration]"] == status, run.output
    if status == "failed":
        assert ("TransformJobDefinition.TransformOutput.Accept: 'application/json' is not among the "
                "SupportedResponseMIMETypes (text/csv)") in run.output


def test_a_separate_inference_image_serves_the_model_that_image_trained(sample_images, tmp_path):
    run = run_suite("byoc-samples/reference", tmp_path, WINDOW,
                    "--byoc-inference-image=byoc-samples/serve-wrong-content-type", *area_selection("hosting"))
    assert run.ids_with("failed") == {"SERVE-10"}, run.output
    assert "docker run -d --rm --name byoc-repro-serve -p 127.0.0.1:8080:8080" in run.output
    assert "byoc-samples/serve-wrong-content-type serve" in run.output


# Pipelines of the reference and the containers that follow it (--byoc-pipeline), and the IDs each fails. The
# followers are samples built for this, not tested alone, and serve-ignores-bind-to-port.
PIPELINES = {
    "pipeline-threshold": ((), {"PIPE-01", "PIPE-02", "PIPE-04"}),
    "pipeline-pads-rows,pipeline-threshold": ({"PIPE-04"}, {"PIPE-01", "PIPE-02"}),
    "pipeline-unlabelled": ({"PIPE-02"}, {"PIPE-01", "PIPE-04"}),
    "pipeline-expects-json": ({"PIPE-01"}, {"PIPE-02", "PIPE-04"}),
    "serve-ignores-bind-to-port": ({"PIPE-02"}, set()),  # PIPE-01 and PIPE-04 cannot be judged: inconclusive
}


@pytest.mark.parametrize("followers", PIPELINES)
def test_a_pipeline_fails_exactly_its_listed_requirements(followers, sample_images, tmp_path):
    failed, passed = PIPELINES[followers]
    named = [f"--byoc-pipeline=byoc-samples/{name}" for name in followers.split(",")]
    run = run_suite("byoc-samples/reference", tmp_path, WINDOW, REFERENCE_SPEC, *named, "-k", "pipeline")
    assert run.ids_with("failed") == set(failed), run.output
    assert run.ids_with("passed") == passed, run.output
    for requirement in failed:  # each failure names the container and says how to run the pipeline by hand
        message = run.output[re.search(rf"^{requirement} \((MUST|SHOULD)\) ", run.output, re.MULTILINE).start():]
        assert re.search(r"  observed: .*container 2 \(byoc-samples/", message), message
        if requirement != "PIPE-02" or "unlabelled" not in followers:
            assert "--network container:byoc-repro-pipeline-1" in message, message


def test_a_20_mb_file_is_transformed_with_counts_and_order_verified(sample_images, tmp_path):
    run = run_suite("byoc-samples/reference", tmp_path, WINDOW, "-k", "BATCH-05", "--byoc-batch-input-mb=20", "-rA")
    assert run.ids_with("passed") == {"BATCH-05"} and not run.ids_with("failed"), run.output
    pattern = r"multi-record-count \(MUST\): (\d+) records .* -> (\d+) output records"
    transformed = re.search(pattern, run.output)
    assert int(transformed.group(1)) == int(transformed.group(2)) > 500_000, run.output


def test_a_declaration_with_one_required_channel_is_judged_without_a_harness_error(sample_images, tmp_path):
    reference = SAMPLES / "reference" / "byoc-spec.json"
    document = json.loads(reference.read_text())
    document["TrainingSpecification"]["TrainingChannels"] = document["TrainingSpecification"]["TrainingChannels"][:1]
    document["TrainingSpecification"]["MetricDefinitions"] = document["TrainingSpecification"]["MetricDefinitions"][:1]
    document["TrainingSpecification"]["SupportedTuningJobObjectiveMetrics"][0]["MetricName"] = "train:mse"
    own = document["byoc-conformance"]
    own["channels"] = {}  # the only channel, training, is generated
    own["invocations"] = {kind: str(reference.parent / path) for kind, path in own["invocations"].items()}
    (tmp_path / "byoc-spec.json").write_text(json.dumps(document))
    run = run_suite("byoc-samples/reference", tmp_path, WINDOW, "-k", "TRAIN-06 or TRAIN-15")
    # the run without the only channel gets an empty inputdataconfig.json, and the reference refuses it
    assert ("TRAIN-06", "passed") in run.statuses and ("TRAIN-06", "not applicable") in run.statuses, run.output
    assert not run.ids_with("error") and not run.ids_with("failed"), run.output
    assert "runs without 'training' each exited non-zero with a failure file" in run.output


def test_tini_in_an_inference_only_image_is_judged_by_what_it_passes_on(sample_images, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.json").write_text(json.dumps({"features": 4, "weights": [1, 2, 3, 4], "bias": 0.5}))
    run = run_suite("byoc-samples/entrypoint-tini", tmp_path, WINDOW, f"--byoc-model={model}", "-k", "IMG-03", "-rA")
    assert run.ids_with("passed") == {"IMG-03"}, run.output
    assert "inference-only image: /usr/bin/tini passes `serve` on" in run.output


def test_the_distributed_sample_trains_on_ten_hosts_sorted_as_sagemaker_sorts_them(sample_images, tmp_path):
    run = run_suite("byoc-samples/distributed", tmp_path, WINDOW, *sample_options("distributed"), "--byoc-hosts=10",
                    "-k", "TRAIN-10 or TRAIN-13", "--byoc-report=bundle")
    assert set(run.statuses) == {("TRAIN-10", "passed"), ("TRAIN-13", "passed")}, run.output
    report = json.loads((tmp_path / "bundle" / "report.json").read_text())
    summaries = {c["check"]: c["summary"] for r in report["requirements"] for c in r["checks"]}
    assert "on algo-10 exited with code 0" in summaries["TRAIN-10:hosts-train-together"], summaries
    assert summaries["TRAIN-10:hosts-train-together"].endswith("the model from algo-1 (1 file(s))"), summaries
    unique = summaries["TRAIN-13:model-names-unique-across-hosts"]
    assert unique.startswith("1 file name(s) in the job's model (algo-1: 1, algo-10: 0, algo-2: 0"), summaries


# Last in the module: the other tests run while the samples' suites go on in the background.
@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_sample_fails_exactly_its_listed_requirements(sample, sample_runs):
    listed = json.loads((SAMPLES / sample / "expected.json").read_text())
    expected = set(listed["failed"])
    run = sample_runs[sample].result()
    assert run.statuses, run.output
    assert run.ids_with("failed") == expected, run.output
    assert not run.ids_with("error"), run.output  # a harness error is the harness's defect, never a sample's verdict
    # The exit status is the gate's: 1 for a MUST failed or inconclusive; a failed SHOULD alone passes. Judged on
    # one area, the requirements left out are not checked: INCONCLUSIVE at best.
    if judged_area(sample) is None:
        assert run.exit_code == (1 if run.gate_fails() else 0), run.output
    else:
        assert run.exit_code == 1, run.output
        assert f"verdict: {'NOT CONFORMANT' if run.must_failed() else 'INCONCLUSIVE'} (" in run.output, run.output
    for requirement in expected:  # each failure speaks to the user
        message = run.output[re.search(rf"^{requirement} \((MUST|SHOULD)\) ", run.output, re.MULTILINE).start():]
        assert "\n  expected: " in message and "\n  observed: " in message and "\n  reproduce:\n" in message

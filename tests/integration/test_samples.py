"""Every check proven both ways on real containers: the reference image passes, and each broken sample
fails exactly the requirement IDs listed in its expected.json."""

from __future__ import annotations

import itertools
import json
import re
import subprocess

import pytest

from ..suite_runs import SAMPLES, run_suite

pytestmark = pytest.mark.docker
SAMPLE_NAMES = sorted(path.parent.name for path in SAMPLES.glob("*/expected.json"))
# Broken servers that never become healthy would otherwise keep the suite waiting SageMaker's 8 minutes.
WINDOW = "--byoc-startup-timeout=15"


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_sample_fails_exactly_its_listed_requirements(sample, sample_images, tmp_path):
    expected = set(json.loads((SAMPLES / sample / "expected.json").read_text())["failed"])
    run = run_suite(f"byoc-samples/{sample}", tmp_path, WINDOW)
    assert run.statuses, run.output
    assert run.ids_with("failed") == expected, run.output
    # The exit status is the gate's: 1 for a MUST failed or inconclusive; a failed SHOULD alone passes.
    assert run.exit_code == (1 if run.gate_fails() else 0), run.output
    for requirement in expected:  # each failure speaks to the user
        message = run.output[re.search(rf"^{requirement} \((MUST|SHOULD)\) ", run.output, re.MULTILINE).start():]
        assert "\n  expected: " in message and "\n  observed: " in message and "\n  reproduce:\n" in message


def test_the_reference_image_passes_every_check_outright(sample_images, tmp_path):
    run = run_suite("byoc-samples/reference", tmp_path, WINDOW)
    # PIPE-02 applies: the reference carries the accept-bind-to-port label
    assert {status for _, status in run.statuses} == {"passed"}, run.output


def test_a_failure_shows_logs_and_a_reproduce_command_that_works(sample_images, tmp_path):
    run = run_suite("byoc-samples/train-no-model", tmp_path)
    message = run.output[run.output.index("TRAIN-13 (MUST)"):]
    assert "  observed: /opt/ml/model is empty; `train` exited with code 0" in message
    assert "    | training complete" in message
    lines = message.split("  reproduce:\n", 1)[1].splitlines()
    command = "\n".join(itertools.takewhile(lambda line: line.startswith("    "), lines))
    repeated = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert repeated.returncode == 0, repeated.stderr
    assert "(model not saved)" in repeated.stdout
    assert list((tmp_path / "byoc-repro" / "good-input" / "model").iterdir()) == []


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


def test_a_separate_inference_image_serves_the_model_that_image_trained(sample_images, tmp_path):
    run = run_suite("byoc-samples/reference", tmp_path, WINDOW,
                    "--byoc-inference-image=byoc-samples/serve-wrong-content-type")
    assert run.ids_with("failed") == {"SERVE-10"}, run.output
    assert "docker run -d --rm --name byoc-repro-serve -p 127.0.0.1:8080:8080" in run.output
    assert "byoc-samples/serve-wrong-content-type serve" in run.output


def test_a_20_mb_file_is_transformed_with_counts_and_order_verified(sample_images, tmp_path):
    run = run_suite("byoc-samples/reference", tmp_path, WINDOW, "-k", "BATCH-05", "--byoc-batch-input-mb=20", "-rA")
    assert run.ids_with("passed") == {"BATCH-05"} and not run.ids_with("failed"), run.output
    pattern = r"multi-record-count-and-order \(MUST\): (\d+) records .* -> (\d+) output records"
    transformed = re.search(pattern, run.output)
    assert int(transformed.group(1)) == int(transformed.group(2)) > 500_000, run.output

"""Images built to misbehave and faults in the harness's own process: each gets its verdict within its
deadline, in bounded memory, and leaves nothing behind (the table in tests/hostile_cases.py)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tarfile
import time

import pytest

from byoc_conformance.engine import HOST_LABEL, PID_LABEL, RUN_LABEL

from ..hostile_cases import CASES
from ..suite_runs import SAMPLES, run_suite
from .test_hygiene import leftovers

pytestmark = pytest.mark.docker
# What the harness may use, whatever the image emits: its own baseline is about 60 MB.
PEAK_RSS_LIMIT_MB = 300
# Measured by tests/benchmarks/hostile.py, not here: most of its time is the image writing 100,000 files.
BENCHMARK_ONLY = {"hostile-many-files-model"}
REFERENCE_SPEC = f"--byoc-spec={SAMPLES / 'reference' / 'byoc-spec.json'}"


@pytest.mark.parametrize("case", [c for c in CASES if c.sample not in BENCHMARK_ONLY], ids=lambda c: c.sample)
def test_a_hostile_image_gets_its_verdict_in_bounded_time_and_memory(case, docker_client, sample_images, tmp_path):
    run = run_suite(f"byoc-samples/{case.sample}", tmp_path, *case.options, timeout=300, measure=True)
    assert run.statuses, run.output
    assert run.ids_with("failed") == case.failed, run.output
    assert case.passed <= run.ids_with("passed"), run.output
    assert not run.ids_with("error"), run.output
    assert case.evidence in run.output, run.output
    assert run.peak_rss_mb is not None and run.peak_rss_mb < PEAK_RSS_LIMIT_MB, run.output
    assert leftovers(docker_client) == [], run.output


def _foreign_platform_image(docker_client, tmp_path, architecture: str = "arm64") -> str:
    """An image that says it is linux/<architecture>, whose `train` and `serve` are AArch64 ELF files (headers
    only)."""
    elf = b"\x7fELF\x02\x01\x01" + bytes(9) + (2).to_bytes(2, "little") + (183).to_bytes(2, "little") + bytes(44)
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as archive:
        for name in ("train", "serve"):
            info = tarfile.TarInfo(f"usr/bin/{name}")
            info.size, info.mode = len(elf), 0o755
            archive.addfile(info, io.BytesIO(elf))
    config = json.dumps({"architecture": architecture, "os": "linux", "config": {"Env": ["PATH=/usr/bin"]},
                         "rootfs": {"type": "layers", "diff_ids": []}, "history": []})
    image = io.BytesIO()
    with tarfile.open(fileobj=image, mode="w") as archive:
        def add(name: str, content: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))

        layer_bytes = layer.getvalue()
        diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
        config = config.replace('"diff_ids": []', f'"diff_ids": ["{diff_id}"]')
        add("layer.tar", layer_bytes)
        add("config.json", config.encode())
        tag = f"byoc-test/foreign-{architecture}:latest"
        manifest = [{"Config": "config.json", "RepoTags": [tag], "Layers": ["layer.tar"]}]
        add("manifest.json", json.dumps(manifest).encode())
    docker_client.images.load(image.getvalue())
    return tag


def test_an_image_for_another_platform_fails_img_09_naming_both_platforms(docker_client, tmp_path):
    image = _foreign_platform_image(docker_client, tmp_path)
    try:
        run = run_suite(image, tmp_path, "--byoc-startup-timeout=10", "-k", "IMG-01 or IMG-09", timeout=300)
    finally:
        docker_client.images.remove(image, force=True)
    assert run.ids_with("failed") == {"IMG-09"}, run.output
    assert "could not execute on this linux/amd64 engine (exec format error); the image says it is linux/arm64" \
        in run.output
    assert "notice: the image is linux/arm64 and the engine runs linux/amd64" in run.output
    assert ("IMG-01", "inconclusive") in run.statuses, run.output  # whether the argument arrives is not seen


def test_an_image_for_a_platform_sagemaker_does_not_run_fails_img_09(docker_client, tmp_path):
    image = _foreign_platform_image(docker_client, tmp_path, "s390x")
    try:
        run = run_suite(image, tmp_path, "-k", "IMG-09", timeout=300)
    finally:
        docker_client.images.remove(image, force=True)
    assert run.ids_with("failed") == {"IMG-09"}, run.output
    assert "observed: the image is linux/s390x" in run.output
    assert "expected: an image for linux/amd64 or linux/arm64" in run.output


def _wait_for_running(docker_client, role: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    running = {"label": f"byoc-conformance.role={role}", "status": "running"}
    while not docker_client.containers.list(filters=running):
        assert time.monotonic() < deadline and process.poll() is None, f"no {role} container started"
        time.sleep(0.05)


@pytest.mark.parametrize("presses", [1, 2], ids=["ctrl-c", "ctrl-c-twice"])
def test_an_interrupted_run_writes_its_report_marked_interrupted(presses, docker_client, sample_images, tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--image", "byoc-samples/reference", "-p", "no:cacheprovider",
         REFERENCE_SPEC, "--byoc-report=bundle"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        _wait_for_running(docker_client, "serve", process)
        for _ in range(presses):
            process.send_signal(signal.SIGINT)
            time.sleep(0.3)
        output, _ = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    report = json.loads((tmp_path / "bundle" / "report.json").read_text())
    assert report["verdict"] == "INCONCLUSIVE" and report["run"]["interrupted"].startswith("the run was interrupted")
    assert report["counts"]["not checked"] > 0
    assert "**Interrupted:**" in (tmp_path / "bundle" / "summary.md").read_text()
    assert "verdict: INCONCLUSIVE" in output and "interrupted: the run was interrupted" in output
    assert leftovers(docker_client) == [], output


def test_a_killed_run_leaves_no_server_running(docker_client, sample_images, tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--image", "byoc-samples/reference", "-p", "no:cacheprovider",
         REFERENCE_SPEC, "-k", "SERVE-07"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_running(docker_client, "serve", process)
        process.kill()  # kill -9: no handler, no cleanup of its own
        process.wait(timeout=10)
        deadline = time.monotonic() + 60
        while leftovers(docker_client) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        process.kill()
    assert leftovers(docker_client) == []


def test_what_a_dead_run_left_is_removed_by_the_next_run_and_said(docker_client, sample_images, tmp_path):
    dead_pid = max(int(p) for p in os.listdir("/proc") if p.isdigit()) + 100_000  # no process has it
    left = docker_client.containers.create(
        "byoc-samples/reference", ["serve"], labels={RUN_LABEL: "deadbeef", PID_LABEL: str(dead_pid),
                                                     HOST_LABEL: socket.gethostname()})
    try:
        run = run_suite("byoc-samples/reference", tmp_path, REFERENCE_SPEC, "-k", "MKT-03")
    finally:
        if leftovers(docker_client):
            left.remove(force=True)
    assert "notice: removed what 1 killed run(s) left on the engine (deadbeef)" in run.output, run.output
    assert leftovers(docker_client) == []


@pytest.mark.parametrize(("options", "message"), [
    (("--image", ""), "--image is empty"),
    (("--byoc-report=taken",), "--byoc-report taken: exists and is not a directory"),
    (("--byoc-repro-dir=taken",), "--byoc-repro-dir taken: exists and is not a directory"),
    (("--byoc-batch-input-mb=20000",), "--byoc-batch-input-mb 20000: at most 1024"),
    (("--byoc-spec=deep.json",), "deep.json nests deeper than"),
    (("--byoc-model=escaping.tar.gz",), "'../outside' would be extracted outside /opt/ml/model"),
    (("--byoc-memory-mb=0",), "'0' is not a whole number above 0"),
    (("--byoc-entry-point=train.py", "--byoc-source-dir=code"), "--byoc-entry-point train.py: no such file in "
                                                                 "--byoc-source-dir code"),
    (("--byoc-source-dir=code",), "--byoc-source-dir needs --byoc-entry-point"),
    (("--byoc-entry-point=../taken", "--byoc-source-dir=code"), "name it relative to --byoc-source-dir"),
    (("--byoc-container-arguments=[]",), "--byoc-container-arguments: 0 items; SageMaker takes 1 to 100"),
    (("--byoc-container-entrypoint=[\"python3\", 1]",), "not a list of strings"),
    (("--byoc-hosts=1",), "'1': a multi-host job has at least 2 hosts"),
    (("--byoc-spec=resumed.json",), "at $.byoc-conformance.checkpoints.resumed: the regex does not compile"),
], ids=["empty-image", "report-is-a-file", "repro-dir-is-a-file", "batch-input-too-big", "deep-spec",
        "escaping-model", "no-memory", "entry-point-missing", "source-dir-alone", "entry-point-escapes",
        "no-container-arguments", "entrypoint-not-strings", "one-host", "resumed-regex"])
def test_bad_harness_input_is_one_line_and_exit_4_before_anything_starts(options, message, docker_client,
                                                                         sample_images, tmp_path):
    (tmp_path / "taken").write_text("a file")
    (tmp_path / "code").mkdir()
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "resumed.json").write_text(json.dumps({
        "TrainingSpecification": {"TrainingImage": "algo", "SupportedTrainingInstanceTypes": ["ml.m5.large"],
                                  "TrainingChannels": [{"Name": "training", "SupportedContentTypes": ["text/csv"],
                                                        "SupportedInputModes": ["File"]}]},
        "byoc-conformance": {"checkpoints": {"resumed": "epoch (\\d+"}}}))
    with tarfile.open(tmp_path / "escaping.tar.gz", "w:gz") as archive:
        info = tarfile.TarInfo("../outside")
        archive.addfile(info, io.BytesIO(b""))
    image = [] if options[0] == "--image" else ["--image", "byoc-samples/reference"]
    completed = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *image, *options],
                               cwd=tmp_path, capture_output=True, text=True, timeout=120)
    output = completed.stdout + completed.stderr
    assert completed.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert message in output and "Traceback" not in output, output
    assert leftovers(docker_client) == []


def test_servers_can_be_reached_on_a_published_port_instead(docker_client, sample_images, tmp_path):
    run = run_suite("byoc-samples/reference", tmp_path, REFERENCE_SPEC, "--byoc-network=published",
                    "-k", "SERVE-05 or SERVE-07 or BATCH-05", "--byoc-report=bundle")
    assert run.ids_with("passed") == {"SERVE-05", "SERVE-07", "BATCH-05"} and not run.ids_with("failed"), run.output
    where = "a bridge, port published on 127.0.0.1, reached at 127.0.0.1"
    assert f"servers on {where}" in run.output
    limits = json.loads((tmp_path / "bundle" / "report.json").read_text())["run"]["limits"]
    assert limits == {"memory_mb": 8192, "pids": 4096, "network": where}


def test_a_long_wait_says_what_it_waits_for_and_what_it_saw_last(sample_images, tmp_path):
    # A server that answers /ping 500 keeps the run waiting its whole start-up window: said once at 10 s.
    run = run_suite("byoc-samples/serve-ping-500", tmp_path, "--byoc-startup-timeout=15", "-k", "SERVE-05")
    said = [line for line in run.output.splitlines() if "s into waiting for" in line]
    assert len(said) == 1 and re.fullmatch(r"byoc-conformance: 1[0-4] s into waiting for the `serve` container "
                                           r"\(serve\) to answer /ping 200 \(deadline 15 s\); last: HTTP 500",
                                           said[0]), run.output

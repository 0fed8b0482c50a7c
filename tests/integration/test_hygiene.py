"""Nothing the harness starts outlives it, also when the run is interrupted."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from byoc_conformance.engine import RUN_LABEL

from ..suite_runs import SAMPLES, run_suite

pytestmark = pytest.mark.docker


def leftovers(client) -> list[str]:
    selector = {"label": RUN_LABEL}
    return [f"container {c.name}" for c in client.containers.list(all=True, filters=selector,
                                                                                    ignore_removed=True)] + [
        f"volume {v.name}" for v in client.volumes.list(filters=selector)
    ] + [f"network {n.name}" for n in client.networks.list(filters=selector)]


def temp_entries() -> set[str]:
    return {path.name for path in Path(tempfile.gettempdir()).iterdir() if "byoc" in path.name}


SEVERAL = "several runs at once"


def _in_flight(docker_client, during: str) -> bool:
    """Whether the container `during` names runs; for SEVERAL, two training runs of different kinds (not the
    SIGTERM pair, which is one run of two containers)."""
    if during != SEVERAL:
        return bool(docker_client.containers.list(filters={"label": f"byoc-conformance.role={during}",
                                                           "status": "running"}))
    roles = {c.labels.get("byoc-conformance.role", "") for c in docker_client.containers.list(
        filters={"label": RUN_LABEL, "status": "running"})}
    kinds = {role.rstrip("-0123456789") for role in roles if role.startswith("train-") and "sigterm" not in role}
    return len(kinds) >= 2


@pytest.mark.parametrize(
    "interrupt, during, sample, only",
    [(signal.SIGINT, "train-good-input", "reference", None), (signal.SIGTERM, "train-good-input", "reference", None),
     (signal.SIGINT, "serve", "reference", None), (signal.SIGINT, "train-invalid-hyperparameter-2", "reference", None),
     # two hosts running on the job's own network: the containers, their volumes and the network go
     (signal.SIGINT, "train-distributed-algo-2", "distributed", "TRAIN-10"),
     # the Pipe feeder and the container it feeds
     (signal.SIGINT, "train-pipe-mode-feeder", "pipe", "TRAIN-09"),
     # the checkpoint volume that outlives each of the two runs
     (signal.SIGINT, "train-interrupted", "checkpoints", "TRAIN-19"),
     # runs that go at once: two training runs of different kinds in flight, others queued
     (signal.SIGINT, SEVERAL, "reference", None), (signal.SIGTERM, SEVERAL, "reference", None)],
    ids=["ctrl-c-in-training", "sigterm-in-training", "ctrl-c-in-serving", "ctrl-c-in-hyperparameter-probes",
         "ctrl-c-in-multi-host-job", "ctrl-c-in-pipe-mode", "ctrl-c-in-checkpoint-run",
         "ctrl-c-with-runs-in-flight", "sigterm-with-runs-in-flight"],
)
def test_an_interrupted_run_leaves_nothing_behind(interrupt, during, sample, only, docker_client, sample_images,
                                                  tmp_path):
    assert leftovers(docker_client) == []
    temp_before = temp_entries()
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--image", f"byoc-samples/{sample}", "-p", "no:cacheprovider",
         f"--byoc-spec={SAMPLES / sample / 'byoc-spec.json'}", *(["-k", only] if only else [])],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _in_flight(docker_client, during):
            assert time.monotonic() < deadline and process.poll() is None, f"no {during} container started"
            time.sleep(0.05)
        process.send_signal(interrupt)
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    assert leftovers(docker_client) == [], output
    assert temp_entries() <= temp_before


def test_two_runs_at_once_on_one_engine_from_one_directory_keep_apart(docker_client, sample_images, tmp_path):
    """Names, networks, ports and reproduction files are the run's own: two CI jobs on one runner, or a vendor
    checking two images at once, get each image's own verdicts, and nothing of either is left."""
    spec = f"--byoc-spec={SAMPLES / 'reference' / 'byoc-spec.json'}"
    runs = {"reference": ("byoc-samples/reference", spec), "train-no-model": ("byoc-samples/train-no-model",)}
    with ThreadPoolExecutor(2) as pool:
        done = {name: pool.submit(run_suite, image, tmp_path, "--byoc-startup-timeout=15", *options,
                                  junit=f"{name}.xml") for name, (image, *options) in runs.items()}
    reference, broken = done["reference"].result(), done["train-no-model"].result()
    assert reference.exit_code == 0 and not reference.ids_with("failed"), reference.output
    assert broken.ids_with("failed") == {"TRAIN-13"}, broken.output
    assert len(list((tmp_path / "byoc-repro").iterdir())) == 1  # the failing run's own reproduction directory
    assert leftovers(docker_client) == []

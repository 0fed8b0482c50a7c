"""The same verdict every run: the samples whose verdicts rest on timing, judged 3 times while both cores are
kept busy, give the same statuses each time, and the expected ones. (The whole set: tests/benchmarks/stability.py.)"""

from __future__ import annotations

import json

import pytest

from ..suite_runs import SAMPLES, cpu_load, run_suite, sample_options

pytestmark = pytest.mark.docker
TIMING_SAMPLES = ["reference", "train-ignores-sigterm", "train-short-no-sigterm-handler",
                  "train-sigterm-handler-ignores", "serve-slow-ping"]
RUNS = 3


@pytest.mark.parametrize("sample", TIMING_SAMPLES)
def test_verdicts_hold_under_load(sample, sample_images, tmp_path):
    expected = set(json.loads((SAMPLES / sample / "expected.json").read_text())["failed"])
    seen = []
    with cpu_load():
        for number in range(RUNS):
            where = tmp_path / str(number)
            where.mkdir()
            run = run_suite(f"byoc-samples/{sample}", where, "--byoc-startup-timeout=30", *sample_options(sample))
            assert run.statuses, run.output
            seen.append(run.statuses)
            assert run.ids_with("failed") == expected, run.output
    assert all(statuses == seen[0] for statuses in seen), seen

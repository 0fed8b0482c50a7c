"""The same verdict every run: the samples whose verdicts rest on timing, judged 3 times while both cores are
kept busy, give the same statuses each time, and the expected ones: the reference on the whole suite, a broken
sample on the area test_samples judges it on. (The whole set: tests/benchmarks/stability.py.)"""

from __future__ import annotations

import json

import pytest

from ..suite_runs import SAMPLES, area_selection, cpu_load, judged_area, run_suite, sample_options

pytestmark = pytest.mark.docker
TIMING_SAMPLES = ["reference", "train-ignores-sigterm", "train-short-no-sigterm-handler",
                  "train-sigterm-handler-ignores", "serve-slow-ping", "serve-small-backlog"]
RUNS = 3


@pytest.mark.parametrize("sample", TIMING_SAMPLES)
def test_verdicts_hold_under_load(sample, sample_images, tmp_path):
    expected = set(json.loads((SAMPLES / sample / "expected.json").read_text())["failed"])
    seen = []
    with cpu_load():
        for number in range(RUNS):
            where = tmp_path / str(number)
            where.mkdir()
            run = run_suite(f"byoc-samples/{sample}", where, "--byoc-startup-timeout=30", *sample_options(sample),
                            *area_selection(judged_area(sample)))
            assert run.statuses, run.output
            seen.append(run.statuses)
            assert run.ids_with("failed") == expected, run.output
    assert all(statuses == seen[0] for statuses in seen), seen


@pytest.mark.parametrize("sample", ["stream", "stream-chunks-at-once"])
def test_streamed_pieces_are_told_from_held_back_ones_under_load(sample, sample_images, tmp_path):
    # STREAM-01 times an answer's pieces: with both cores busy, pieces sent 20 ms apart still arrive spread out,
    # and pieces written at once still arrive together.
    expected = set(json.loads((SAMPLES / sample / "expected.json").read_text())["failed"])
    with cpu_load():
        for number in range(RUNS):
            where = tmp_path / str(number)
            where.mkdir()
            run = run_suite(f"byoc-samples/{sample}", where, *sample_options(sample), "-k", "STREAM")
            assert run.ids_with("failed") == expected, run.output
            assert run.ids_with("passed") == {"STREAM-01", "STREAM-02"} - expected, run.output


def test_sigterm_waits_for_a_handler_installed_during_start_up(sample_images, tmp_path):
    # The framework sample's `train` installs its SIGTERM handler about 0.7 s into a 2 s run, near the moment
    # TRAIN-17's signal is due: sent before it, the kernel would drop the signal and the verdict would depend on
    # the machine's load. Judged alone, 3 times under three busy loops a core (heavier than the four sample suites
    # at once under which a clean-clone CI once saw the handler come after the signal's latest moment), it passes
    # every time: a PID 1 that shows it would drop SIGTERM is waited for, however late its handler comes.
    sample = "framework-sklearn-partial-environment"  # the iris script with the framework's handler, less setup
    with cpu_load(6):
        for number in range(RUNS):
            where = tmp_path / str(number)
            where.mkdir()
            run = run_suite(f"byoc-samples/{sample}", where, *sample_options(sample), "-k",
                            "TRAIN-17 and sigterm-stops-training")  # the single-host check only
            assert run.statuses == [("TRAIN-17", "passed")], run.output

"""Script mode on a framework image built on the real SageMaker toolkits: the conforming script passes every
check, each broken script fails exactly the requirement IDs in its expected.json; and the training command
overrides of TRAIN-01 on a real image."""

from __future__ import annotations

import json
import re

import pytest

from ..suite_runs import SAMPLES, run_suite

pytestmark = pytest.mark.docker
FRAMEWORK = SAMPLES / "framework-sklearn"
SCRIPTS = sorted(path.parent.name for path in (FRAMEWORK / "scripts").glob("*/expected.json"))
WINDOW = "--byoc-startup-timeout=60"
REFERENCE_SPEC = f"--byoc-spec={SAMPLES / 'reference' / 'byoc-spec.json'}"


def _script_run(script: str, tmp_path):
    directory = FRAMEWORK / "scripts" / script
    listed = json.loads((directory / "expected.json").read_text())
    # The broken scripts import the iris script, shipped beside them as the SDK's `dependencies`.
    dependencies = [f"--byoc-dependencies={(directory / path).resolve()}" for path in listed.get("dependencies", [])]
    return run_suite("byoc-samples/framework-sklearn", tmp_path, WINDOW, f"--byoc-spec={FRAMEWORK / 'byoc-spec.json'}",
                     "--byoc-entry-point=train.py", f"--byoc-source-dir={directory}", *dependencies)


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_script_fails_exactly_its_listed_requirements(script, sample_images, tmp_path):
    expected = set(json.loads((FRAMEWORK / "scripts" / script / "expected.json").read_text())["failed"])
    run = _script_run(script, tmp_path)
    assert run.statuses, run.output
    assert run.ids_with("failed") == expected, run.output
    assert run.exit_code == (1 if run.gate_fails() else 0), run.output
    assert "script mode: train.py in " in run.output
    for requirement in expected:
        message = run.output[re.search(rf"^{requirement} \((MUST|SHOULD)\) ", run.output, re.MULTILINE).start():]
        assert "\n  expected: " in message and "\n  observed: " in message and "\n  reproduce:\n" in message
    if not expected:  # the conforming script: the whole suite, training, hosting and batch, passes outright
        assert {status for _, status in run.statuses} <= {"passed", "not applicable"}, run.output
        assert run.ids_with("passed") >= {"SCRIPT-01", "TRAIN-04", "TRAIN-13", "TRAIN-16", "TRAIN-17", "TRAIN-23",
                                          "METRIC-01", "SERVE-05", "SERVE-07", "SERVE-10", "BATCH-05"}, run.output


def test_an_image_without_the_toolkit_never_starts_the_script_and_fails_script_01(sample_images, tmp_path):
    run = run_suite("byoc-samples/reference", tmp_path, REFERENCE_SPEC, "-k", "SCRIPT-01",
                    "--byoc-entry-point=train.py", f"--byoc-source-dir={FRAMEWORK / 'scripts' / 'iris'}")
    assert run.ids_with("failed") == {"SCRIPT-01"}, run.output
    assert "the entry point was never started" in run.output
    assert "/input/code/sourcedir.tar.gz" not in run.output  # the archive is in the saved input, not spelled out


def test_a_container_entrypoint_replaces_train_as_sagemaker_applies_it(sample_images, tmp_path):
    run = run_suite("byoc-samples/reference", tmp_path, REFERENCE_SPEC, "-k", "TRAIN-13 or TRAIN-15",
                    '--byoc-container-entrypoint=["python3", "/opt/program/train"]')
    assert run.ids_with("passed") == {"TRAIN-13", "TRAIN-15"}, run.output
    assert "training command: python3 /opt/program/train (ContainerEntrypoint/ContainerArguments)" in run.output


def test_a_container_entrypoint_that_does_not_train_fails_with_its_command_in_the_reproduction(sample_images,
                                                                                               tmp_path):
    run = run_suite("byoc-samples/reference", tmp_path, REFERENCE_SPEC, "-k", "TRAIN-15 and good",
                    "--byoc-container-entrypoint=sh -c 'exit 3'")
    assert run.ids_with("failed") == {"TRAIN-15"}, run.output
    assert "`sh -c 'exit 3'` exited with code 3" in run.output
    assert "--entrypoint sh \\" in run.output and "byoc-samples/reference -c 'exit 3'" in run.output, run.output


def test_container_arguments_replace_train(sample_images, tmp_path):
    # The reference has no ENTRYPOINT, so the arguments are the whole command.
    run = run_suite("byoc-samples/reference", tmp_path, REFERENCE_SPEC, "-k", "TRAIN-15 and good",
                    "--byoc-container-arguments=sh -c 'exit 4'")
    assert run.ids_with("failed") == {"TRAIN-15"}, run.output
    assert "`ENTRYPOINT sh -c 'exit 4'` exited with code 4" in run.output, run.output

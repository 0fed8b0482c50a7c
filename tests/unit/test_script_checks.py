"""SCRIPT-01's judgement on hand-made records: the environment probe's run, its log line, and the job it was given."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from byoc_conformance import opt_ml, script
from byoc_conformance.checks import script as script_checks
from byoc_conformance.checks.script import differences
from byoc_conformance.jobs import TrainingRun
from byoc_conformance.registry import CHECKS, Context
from byoc_conformance.training import TrainingRuns
from byoc_conformance.verdicts import Failed, Inconclusive

HYPERPARAMETERS = {"max_depth": "5", "layers": "[64, 32]", "sagemaker_program": '"byoc_environment_probe.py"'}
AGREEING = {
    "SM_MODEL_DIR": "/opt/ml/model/", "SM_OUTPUT_DATA_DIR": "/opt/ml/output/data", "SM_CHANNELS": '["training"]',
    "SM_CHANNEL_TRAINING": "/opt/ml/input/data/training", "SM_CURRENT_HOST": "algo-1", "SM_HOSTS": '["algo-1"]',
    "SM_HPS": '{"max_depth": 5, "layers": [64, 32]}', "SM_HP_MAX_DEPTH": "5", "SM_HP_LAYERS": "[64, 32]",
    "SM_NUM_CPUS": "4",
}
ARGV = ["--max_depth=5", "--layers", "[64, 32]"]


def probe_run(environment=None, argv=None, *, logs=None, **fields) -> TrainingRun:
    record = {"argv": ARGV if argv is None else argv, "cwd": "/opt/ml/code",
              "environment": AGREEING if environment is None else environment}
    if logs is None:
        logs = f"starting\n{script.PROBE_MARKER}{json.dumps(record)}\ntrained\n"
    training_input = opt_ml.TrainingInput({"training": {}}, HYPERPARAMETERS)
    return TrainingRun(**{"slug": "environment-probe", "label": "probe", "image": "algo:1",
                          "training_input": training_input, "environment": {}, "exit_code": 0, "duration": 2.0,
                          "logs": logs, **fields})


def context(run: TrainingRun, entry_point: str | None = "train.py", baked: str | None = None) -> Context:
    runner = SimpleNamespace(script=SimpleNamespace(entry_point=entry_point) if entry_point else None,
                             baked_program=baked)
    return Context(None, "algo:1", {}, SimpleNamespace(environment_probe=run, runner=runner),  # type: ignore[arg-type]
                   None)  # type: ignore[arg-type]


def test_an_entry_point_given_what_the_toolkit_promises_passes_and_says_what_ran_after():
    summary = script_checks.entry_point_environment(context(probe_run()))
    assert summary == ("the entry point ran in /opt/ml/code with SM_* agreeing with /opt/ml (1 channel(s), 2 "
                       "hyperparameter(s) in SM_HPS and on the command line); then train.py itself: `train` exited "
                       "with code 0 after 2.0 s")


def test_an_image_with_its_code_baked_in_is_named_by_its_program():
    assert "then serve_and_train.py itself" in script_checks.entry_point_environment(
        context(probe_run(), entry_point=None, baked="serve_and_train.py"))


def test_a_probe_run_that_could_not_start_is_inconclusive():
    with pytest.raises(Inconclusive, match="could not start: no such image") as verdict:
        script_checks.entry_point_environment(context(probe_run(exit_code=None, start_error="no such image")))
    assert verdict.value.run is not None


@pytest.mark.parametrize("logs", ["toolkit: no module named train\n",
                                  f"{script.PROBE_MARKER}{{not json\n"])
def test_an_entry_point_never_started_fails_naming_the_program_the_toolkit_should_have_run(logs):
    with pytest.raises(Failed, match=r"the entry point was never started: `train` exited with code 1 after 2.0 s, "
                                     r"and the probe put in its place \(byoc_environment_probe.py\) printed nothing"
                       ) as verdict:
        script_checks.entry_point_environment(context(probe_run(logs=logs, exit_code=1)))
    assert "(train.py, here the probe that then runs it)" in verdict.value.expected


def test_an_environment_that_disagrees_fails_with_every_difference():
    environment = {**AGREEING, "SM_HP_MAX_DEPTH": "five", "SM_HP_LAYERS": "[64]", "SM_NUM_CPUS": "0"}
    with pytest.raises(Failed) as verdict:
        script_checks.entry_point_environment(context(probe_run(environment, ["--max_depth", "6"])))
    assert verdict.value.observed.split("; ") == [
        "SM_HP_MAX_DEPTH=five (expected 5)", "--max_depth 6 on the command line (expected 5)",
        "SM_HP_LAYERS=[64] (expected [64, 32])", "--layers (absent) on the command line (expected [64, 32])",
        "SM_NUM_CPUS=0 (expected a whole number above 0)"]
    assert verdict.value.expected == script_checks.EXPECTED


def test_values_are_compared_as_the_toolkit_passes_them_on():
    run = probe_run()
    assert differences({"environment": AGREEING, "argv": ARGV}, run) == []
    assert differences({"environment": {**AGREEING, "SM_NUM_CPUS": ""}, "argv": ARGV}, run) == \
        ["SM_NUM_CPUS=(not set) (expected a whole number above 0)"]
    assert differences({"environment": AGREEING, "argv": ["--max_depth"]}, run) == \
        ["--max_depth (absent) on the command line (expected 5)", "--layers (absent) on the command line "
         "(expected [64, 32])"]


def test_script_01_reads_the_environment_probe():
    assert CHECKS["SCRIPT-01:entry-point-environment"].runs == (TrainingRuns.environment_probe,)

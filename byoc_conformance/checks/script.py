"""Script mode (SCRIPT-01): what the framework image's toolkit gives the user's entry point, recorded by the
harness's probe, which then runs the entry point in its place."""

from __future__ import annotations

import json
from typing import Any

from .. import opt_ml, script
from ..jobs import MOUNTED, TrainingRun
from ..registry import Context, check
from ..training import TrainingRuns
from ..verdicts import Failed, Inconclusive

EXPECTED = ("SM_MODEL_DIR, SM_OUTPUT_DATA_DIR, SM_CHANNELS and SM_CHANNEL_<NAME> per channel, SM_HPS and SM_HP_<NAME> "
            "per hyperparameter, SM_CURRENT_HOST, SM_HOSTS and SM_NUM_CPUS that agree with /opt/ml, and each "
            "hyperparameter as --name value on the command line")


def _argument(argv: list[str], name: str) -> str | None:
    flag = f"--{name}"
    for index, item in enumerate(argv):
        if item == flag and index + 1 < len(argv):
            return argv[index + 1]
        if item.startswith(flag + "="):
            return item[len(flag) + 1:]
    return None


def _same(shown: str | None, value: Any) -> bool:
    """A value as the toolkit passes it on (str() of the decoded JSON, or JSON for a list or a mapping),
    compared with what the harness wrote."""
    if shown is None:
        return False
    if not isinstance(value, (str, int, float)):
        return script.decoded(shown) == value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(shown) == float(value)
        except ValueError:
            return False
    return shown == str(value)


def differences(record: dict[str, Any], run: TrainingRun) -> list[str]:
    """What the recorded environment gets wrong about the job the harness ran."""
    environment: dict[str, str] = record.get("environment", {})
    argv: list[str] = record.get("argv", [])
    channels = sorted(run.training_input.channels)
    given = {name: script.decoded(value) for name, value in run.training_input.hyperparameters.items()
             if not name.startswith("sagemaker_")}
    model_dir, output_dir = MOUNTED[1], f"{MOUNTED[2]}/data"
    wanted: dict[str, Any] = {
        "SM_MODEL_DIR": model_dir, "SM_OUTPUT_DATA_DIR": output_dir, "SM_CHANNELS": channels,
        "SM_CURRENT_HOST": opt_ml.CURRENT_HOST, "SM_HOSTS": [opt_ml.CURRENT_HOST], "SM_HPS": given,
        **{f"SM_CHANNEL_{name.upper()}": f"/opt/ml/input/data/{name}" for name in channels},
    }
    wrong = []
    for variable, value in wanted.items():
        shown = environment.get(variable)
        if shown is None:
            wrong.append(f"{variable} is not set")
            continue
        parsed = script.decoded(shown) if not isinstance(value, str) else shown.rstrip("/")
        if parsed != value:
            wrong.append(f"{variable}={shown} (expected {json.dumps(value) if not isinstance(value, str) else value})")
    for name, value in given.items():
        variable = f"SM_HP_{name.upper()}"
        if variable not in environment:
            wrong.append(f"{variable} is not set")
        elif not _same(environment[variable], value):
            wrong.append(f"{variable}={environment[variable]} (expected {value})")
        shown = _argument(argv, name)
        if not _same(shown, value):
            wrong.append(f"--{name} {shown if shown is not None else '(absent)'} on the command line "
                         f"(expected {value})")
    cpus = environment.get("SM_NUM_CPUS", "")
    if not cpus.isdigit() or int(cpus) < 1:
        wrong.append(f"SM_NUM_CPUS={cpus or '(not set)'} (expected a whole number above 0)")
    return wrong


@check("SCRIPT-01", "entry-point-environment", runs=(TrainingRuns.environment_probe,))
def entry_point_environment(ctx: Context) -> str:
    run = ctx.training.environment_probe
    if run.start_error:
        raise Inconclusive(run.outcome(), run=run)
    record = script.probe_record(run.log_lines())
    program = ctx.training.runner.script.entry_point if ctx.training.runner.script else \
        ctx.training.runner.baked_program
    if record is None:
        raise Failed(f"the entry point was never started: {run.outcome()}, and the probe put in its place "
                     f"({script.PROBE_NAME}) printed nothing",
                     expected=f"the toolkit starts the program sagemaker_program / SAGEMAKER_PROGRAM names "
                     f"({program}, here the probe that then runs it) from the code directory", run=run)
    wrong = differences(record, run)
    if wrong:
        raise Failed("; ".join(wrong), expected=EXPECTED, run=run)
    hps = len([name for name in run.training_input.hyperparameters if not name.startswith("sagemaker_")])
    return (f"the entry point ran in {record.get('cwd')} with SM_* agreeing with /opt/ml "
            f"({len(run.training_input.channels)} channel(s), {hps} hyperparameter(s) in SM_HPS and on the command "
            f"line); then {program} itself: {run.outcome()}")

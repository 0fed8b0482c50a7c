"""Script mode as the SDK delivers it: the source archive, the JSON-encoded hyperparameters, the repacked model,
the training command and the environment probe (SCRIPT-01, TRAIN-01)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile

import pytest

from byoc_conformance import hyperparameters, opt_ml, script
from byoc_conformance.checks.script import differences
from byoc_conformance.declaration import Hyperparameter
from byoc_conformance.engine import content_digest
from byoc_conformance.jobs import TrainingRun
from byoc_conformance.script import Command

SPECS = [Hyperparameter("max_depth", "Integer", False, "5", "1", "20", tunable=True),
         Hyperparameter("criterion", "Categorical", False, "gini", values=("gini", "entropy"), tunable=True),
         Hyperparameter("rate", "Continuous", False, "0.5", "0.0001", "0.6", tunable=True),
         Hyperparameter("label", "FreeText", False, None)]


def _names(archive: bytes) -> set[str]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {member.name for member in tar}


@pytest.fixture
def source(tmp_path):
    (tmp_path / "src" / "lib" / "__pycache__").mkdir(parents=True)
    (tmp_path / "src" / "train.py").write_text("print('train')\n")
    (tmp_path / "src" / "serve.py").write_text("")
    (tmp_path / "src" / "lib" / "util.py").write_text("")
    (tmp_path / "src" / "lib" / "__pycache__" / "util.cpython-311.pyc").write_bytes(b"")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "helpers.py").write_text("")
    return tmp_path


def test_the_source_directory_is_packed_at_the_top_with_dependencies_beside_it(source):
    code = script.Script.from_options("train.py", source / "src", [source / "shared"])
    assert _names(code.sourcedir()) == {"train.py", "serve.py", "lib/util.py", "shared/helpers.py"}
    assert _names(code.sourcedir({script.PROBE_NAME: b""})) >= {script.PROBE_NAME, "train.py"}
    assert code.serving_entry_point == "train.py"  # the SDK deploys with the training script by default


def test_without_a_source_directory_only_the_entry_point_travels(source):
    code = script.Script.from_options(str(source / "src" / "train.py"), None)
    assert code.entry_point == "train.py" and _names(code.sourcedir()) == {"train.py"}


@pytest.mark.parametrize(("entry_point", "serving", "message"), [
    ("missing.py", None, "no such file in --byoc-source-dir"),
    ("../train.py", None, "name it relative to --byoc-source-dir"),
    ("/etc/passwd", None, "name it relative to --byoc-source-dir"),
    ("train.py", "missing.py", "--byoc-serving-entry-point missing.py: no such file"),
])
def test_script_options_are_checked_before_anything_starts(source, entry_point, serving, message):
    with pytest.raises(script.ScriptError, match=message):
        script.Script.from_options(entry_point, source / "src", None, serving)


def test_hyperparameters_are_json_encoded_as_the_sdk_writes_them(source):
    code = script.Script.from_options("train.py", source / "src")
    values = {"max_depth": "5", "criterion": "gini", "rate": "not-a-number", "label": "3", "extra": "1e-3",
              "_tuning_objective_metric": "validation:accuracy", "sagemaker_program": '"other.py"'}
    written = code.hyperparameters(values, SPECS, "job-1")
    assert written == {
        "max_depth": "5", "criterion": '"gini"', "rate": '"not-a-number"', "label": '"3"', "extra": "1e-3",
        "_tuning_objective_metric": '"validation:accuracy"',
        "sagemaker_program": '"train.py"', "sagemaker_submit_directory": json.dumps(script.SUBMIT_PATH),
        "sagemaker_container_log_level": "20", "sagemaker_job_name": '"job-1"', "sagemaker_region": '"us-east-1"',
    }
    assert {name: script.decoded(value) for name, value in written.items()}["criterion"] == "gini"


def test_the_served_model_carries_the_source_under_code(source, tmp_path):
    model = tmp_path / "model.tar.gz"
    with tarfile.open(model, "w:gz") as archive:
        for name, content in (("model.joblib", b"weights"), ("code/stale.py", b"old")):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    code = script.Script.from_options("train.py", source / "src", None, "serve.py")
    with tarfile.open(script.with_code(model, code, tmp_path / "repacked.tar.gz")) as archive:
        assert set(archive.getnames()) == {"model.joblib", "code/train.py", "code/serve.py", "code/lib/util.py"}
    assert code.serving_environment() == {"SAGEMAKER_PROGRAM": "serve.py",
                                          "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                                          "SAGEMAKER_CONTAINER_LOG_LEVEL": "20", "SAGEMAKER_REGION": "us-east-1"}


@pytest.mark.parametrize(("text", "items"), [
    ('["python3", "-m", "trainer"]', ["python3", "-m", "trainer"]),
    ("python3 -m 'my trainer'", ["python3", "-m", "my trainer"]),
    (None, None),
])
def test_container_commands_are_json_lists_or_shell_words(text, items):
    assert script.command_list("--byoc-container-entrypoint", text) == items


@pytest.mark.parametrize(("text", "message"), [
    ("[]", "0 items"), (json.dumps(["x"] * 101), "101 items"), (json.dumps(["x" * 257]), "257 characters"),
    ('["a", 1]', "not a list of strings"), ("'unclosed", "No closing quotation"),
])
def test_container_commands_outside_the_api_limits_are_refused(text, message):
    with pytest.raises(script.ScriptError, match=message):
        script.command_list("--byoc-container-arguments", text)


def test_the_training_command_follows_the_container_entrypoint_table():
    assert Command().args == ["train"] and Command().describe() == "train"
    assert Command(entrypoint=["python3", "t.py"]).args == []  # an entrypoint alone drops `train`
    assert Command(arguments=["fit", "--fast"]).args == ["fit", "--fast"]  # arguments replace it
    both = Command(["python3", "t.py"], ["--epochs", "2"])
    assert both.describe() == "python3 t.py --epochs 2"
    assert both.docker_run(["-v a:b"], "img") == ["--entrypoint python3", "-v a:b", "img t.py --epochs 2"]


def test_the_probe_records_the_environment_then_runs_the_entry_point(tmp_path):
    (tmp_path / "train.py").write_text("import sys; print('trained with', sys.argv[1:])\n")
    (tmp_path / script.PROBE_NAME).write_bytes(script.probe_source("train.py"))
    completed = subprocess.run([sys.executable, script.PROBE_NAME, "--max_depth", "5"], cwd=tmp_path,
                               capture_output=True, text=True, timeout=30,
                               env={"SM_MODEL_DIR": "/opt/ml/model", "PATH": "/usr/bin:/bin"})
    record = script.probe_record(completed.stdout.splitlines())
    assert record["argv"] == ["--max_depth", "5"] and record["environment"] == {"SM_MODEL_DIR": "/opt/ml/model"}
    assert "trained with ['--max_depth', '5']" in completed.stdout


def _run(values: dict[str, str]) -> TrainingRun:
    training_input = opt_ml.TrainingInput({"training": {}, "validation": {}}, values)
    return TrainingRun("probe", "probe", "img", training_input, {})


def test_an_environment_that_agrees_with_opt_ml_has_no_differences():
    run = _run({"max_depth": "5", "criterion": '"gini"', "sagemaker_program": '"train.py"'})
    environment = {
        "SM_MODEL_DIR": "/opt/ml/model", "SM_OUTPUT_DATA_DIR": "/opt/ml/output/data",
        "SM_CHANNELS": '["training","validation"]', "SM_CHANNEL_TRAINING": "/opt/ml/input/data/training",
        "SM_CHANNEL_VALIDATION": "/opt/ml/input/data/validation", "SM_CURRENT_HOST": "algo-1",
        "SM_HOSTS": '["algo-1"]', "SM_HPS": '{"criterion": "gini", "max_depth": 5}', "SM_HP_MAX_DEPTH": "5",
        "SM_HP_CRITERION": "gini", "SM_NUM_CPUS": "2",
    }
    record = {"environment": environment, "argv": ["--criterion", "gini", "--max_depth", "5"]}
    assert differences(record, run) == []
    del environment["SM_CHANNEL_VALIDATION"], environment["SM_HP_CRITERION"]
    environment["SM_HPS"] = "{}"
    wrong = differences({"environment": environment, "argv": ["--max_depth", "6"]}, run)
    assert wrong == ['SM_HPS={} (expected {"max_depth": 5, "criterion": "gini"})', "SM_CHANNEL_VALIDATION is not set",
                     "--max_depth 6 on the command line (expected 5)", "SM_HP_CRITERION is not set",
                     "--criterion (absent) on the command line (expected gini)"]


def test_each_tunable_hyperparameter_is_moved_to_its_farthest_valid_value():
    assert hyperparameters.tunable_alternatives(SPECS) == {"max_depth": "20", "criterion": "entropy", "rate": "0.0001"}


def test_the_model_digest_follows_names_and_contents(tmp_path):
    def archive(name: str, files: dict[str, bytes]):
        path = tmp_path / name
        with tarfile.open(path, "w") as tar:
            for file, content in files.items():
                info = tarfile.TarInfo(f"model/{file}")
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
        return content_digest(path)

    same = archive("a.tar", {"m.bin": b"1", "n.bin": b"2"})
    assert same == archive("b.tar", {"n.bin": b"2", "m.bin": b"1"})
    assert same != archive("c.tar", {"m.bin": b"1", "n.bin": b"3"})
    assert same != archive("d.tar", {"m.bin": b"1", "o.bin": b"2"})


def test_a_script_mode_run_carries_the_source_and_the_sdk_hyperparameters(source):
    from types import SimpleNamespace

    from byoc_conformance.jobs import TrainingRunner

    code = script.Script.from_options("train.py", source / "src")
    runner = TrainingRunner(SimpleNamespace(run_id="r1"), "img", code=code, specs=SPECS)  # type: ignore[arg-type]
    run = runner._new_run("good-input", "good", opt_ml.good_input(hyperparameters={"criterion": "gini"}))
    files = run.training_input.files()
    assert set(_names(files[opt_ml.CODE_FILE])) == {"train.py", "serve.py", "lib/util.py"}
    hps = run.training_input.hyperparameters
    assert hps["criterion"] == '"gini"' and hps["sagemaker_program"] == '"train.py"'
    assert hps["sagemaker_job_name"] == '"byoc-conformance-r1-good-input"'
    probed = runner._new_run("environment-probe", "probe", opt_ml.good_input(), probe=True)
    assert probed.training_input.hyperparameters["sagemaker_program"] == json.dumps(script.PROBE_NAME)
    assert script.PROBE_NAME in _names(probed.training_input.code)
    assert probed.image_files == {} and "SAGEMAKER_PROGRAM" not in probed.environment


def test_a_probe_of_baked_in_code_sits_beside_it_and_is_named_in_its_place():
    from types import SimpleNamespace

    from byoc_conformance.jobs import TrainingRunner
    from byoc_conformance.outcome import Unclaimed

    runner = TrainingRunner(SimpleNamespace(run_id="r1"), "img",  # type: ignore[arg-type]
                            image_environment={"SAGEMAKER_PROGRAM": "fit.py"})
    run = runner._new_run("environment-probe", "probe", opt_ml.good_input(), probe=True)
    assert run.environment["SAGEMAKER_PROGRAM"] == script.PROBE_NAME
    assert b"TARGET = 'fit.py'" in run.image_files[f"/opt/ml/code/{script.PROBE_NAME}"]
    assert run.training_input.code is None and "sagemaker_program" not in run.training_input.hyperparameters
    with pytest.raises(Unclaimed, match="no script"):
        TrainingRunner(SimpleNamespace(run_id="r1"), "img")._new_run(  # type: ignore[arg-type]
            "environment-probe", "probe", opt_ml.good_input(), probe=True)

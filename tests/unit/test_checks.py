"""The checks' judgement, on fake runs and image configs. Every check is also proven on real images by
tests/integration/test_samples.py."""

import dataclasses
import itertools
import json
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from byoc_conformance import opt_ml
from byoc_conformance.checks import image, training
from byoc_conformance.engine import Process, tar_of
from byoc_conformance.hosting import Server
from byoc_conformance.jobs import Disposition, TrainingRun
from byoc_conformance.options import RunOptions
from byoc_conformance.outcome import Unclaimed
from byoc_conformance.plan import Plan
from byoc_conformance.registry import Context
from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable, describe, reproduction

ARCHIVES = tempfile.TemporaryDirectory(prefix="byoc-test-")  # removed when the tests end
NUMBERS = itertools.count()


def model_archive(files: dict[str, bytes]) -> Path:
    """/opt/ml/model as Docker's archive API returns it, saved to disk: everything below a top entry `model`."""
    path = Path(ARCHIVES.name) / f"model-{next(NUMBERS)}.tar"
    path.write_bytes(tar_of({f"model/{name}": content for name, content in files.items()}, ("model",)))
    return path


def run(**fields) -> TrainingRun:
    defaults = dict(slug="good-input", label="training run with good input", image="algo:1",
                    training_input=opt_ml.good_input(), environment={"TRAINING_JOB_NAME": "job"},
                    exit_code=0, duration=3.0, logs="epoch=1\n", model_archive=model_archive({"model.json": b"{}"}))
    return TrainingRun(**{**defaults, **fields})


class FakeRuns:
    def __init__(self, good=None, signalled=None, twin=None, corrupt_csv=None):
        self.good, self.corrupt_csv = good or run(), corrupt_csv
        self._signalled = (signalled, twin or run(slug="sigterm-twin", duration=3.0))
        self.disabled = None

    @property
    def signalled(self):
        return self._signalled


def context(config=None, **runs) -> Context:
    return Context(engine=None, image="algo:1", image_config=config or {}, training=FakeRuns(**runs),  # type: ignore[arg-type]
                   hosting=None)  # type: ignore[arg-type]


TOOLKIT_FAILURE = (b'framework error: \nTraceback (most recent call last):\n'
                   b'  File "/usr/lib/trainer.py", line 88, in train\n'
                   b"    entrypoint()\nsagemaker_training.errors.ExecuteUserScriptError: ExecuteUserScriptError:\n"
                   b'ExitCode 1\nErrorMessage ""\nCommand "/usr/bin/python3 train.py"\n')
CATCHES = Disposition("python3 train", caught=True, blocked=False, ignored=False)
NO_HANDLER = Disposition("python3 train", caught=False, blocked=False, ignored=False)
WAITS = Disposition("/usr/bin/tini -- train", caught=False, blocked=False, ignored=False, waiting=True)


def test_sigterm_handled_passes_and_reports_time_to_exit():
    ctx = context(signalled=run(slug="sigterm", duration=1.3, signal_at=1.2, disposition=CATCHES))
    assert "PID 1 (python3 train) catches SIGTERM" in training.sigterm_stops_training(ctx)
    assert "stopped 0.10 s after the signal" in training.sigterm_stops_training(ctx)


def test_a_signal_that_waited_for_the_handler_says_so():
    ctx = context(signalled=run(slug="sigterm", duration=1.5, signal_at=1.4, signal_due=1.2, disposition=CATCHES))
    assert "SIGTERM sent 1.40 s in (due 1.20 s in, before PID 1 handled it)" in training.sigterm_stops_training(ctx)


@pytest.mark.parametrize("disposition, verdict, says", [
    # the kernel drops SIGTERM for a PID 1 without a handler: decisive where timing cannot tell
    (NO_HANDLER, Failed, "has no handler for SIGTERM; the kernel drops"),
    # with a handler, too little time left after the signal: inconclusive, never passed
    (CATCHES, Inconclusive, "cannot be told apart"),
])
def test_a_run_too_short_to_compare_is_judged_on_the_disposition_alone(disposition, verdict, says):
    ctx = context(good=run(duration=0.5), twin=run(slug="sigterm-twin", duration=0.6),
                  signalled=run(slug="sigterm", duration=0.55, signal_at=0.2, disposition=disposition))
    with pytest.raises(verdict, match=says):
        training.sigterm_stops_training(ctx)


def test_a_dropped_signal_fails_even_when_the_twin_gives_nothing_to_compare_with():
    ctx = context(signalled=run(slug="sigterm", duration=2.9, signal_at=1.2, disposition=NO_HANDLER),
                  twin=run(slug="sigterm-twin", exit_code=1, duration=2.0))
    with pytest.raises(Failed, match="has no handler for SIGTERM; the kernel drops"):
        training.sigterm_stops_training(ctx)


def test_a_pid_1_that_blocks_sigterm_and_waits_for_it_is_judged_on_behaviour():
    # tini blocks every signal and takes them with sigtimedwait(): the kernel queues SIGTERM, it is not dropped
    ctx = context(signalled=run(slug="sigterm", duration=1.3, signal_at=1.2, disposition=WAITS))
    assert "waits in sigtimedwait() for SIGTERM" in training.sigterm_stops_training(ctx)


def test_a_handler_that_changes_nothing_fails_against_the_twin():
    ctx = context(signalled=run(slug="sigterm", exit_code=None, killed_at_deadline=True, duration=3.0, signal_at=1.2,
                                disposition=CATCHES))
    with pytest.raises(Failed, match="no sooner done than the twin"):
        training.sigterm_stops_training(ctx)


def test_ending_with_the_twin_is_not_stopping():
    ctx = context(signalled=run(slug="sigterm", duration=2.9, signal_at=1.2, disposition=None))
    with pytest.raises(Failed, match="could not be read.*no sooner done"):
        training.sigterm_stops_training(ctx)


def test_sigterm_is_not_judged_when_good_training_fails():
    with pytest.raises(Inconclusive, match="see TRAIN-15"):
        training.sigterm_stops_training(context(good=run(exit_code=1)))


def test_model_of_a_failed_run_is_not_judged():
    with pytest.raises(Inconclusive, match="training did not complete"):
        training.model_written(context(good=run(exit_code=2, model_archive=model_archive({}))))


def test_empty_model_dir_fails():
    with pytest.raises(Failed, match="/opt/ml/model is empty"):
        training.model_written(context(good=run(model_archive=model_archive({}))))


@pytest.mark.parametrize(
    "failure, verdict",
    [
        (None, "no /opt/ml/output/failure"),
        (b"   \n", "is empty"),
        (b"\xff\xfe", "is not UTF-8"),
        (b"Traceback (most recent call last):\n" + b'  File "x.py", line 1, in f\n    g()\n' * 40 + b"ValueError: bad",
         "stack frames, wrapper lines and empty fields only"),
        (TOOLKIT_FAILURE, "no cause"),
        (b"Training failed.\nexit code 1\n", "no cause"),
        # The toolkit with the script's stderr captured, from a `raise ValueError()` with no message.
        (b'ExecuteUserScriptError:\nExitCode 1\nErrorMessage "raise ValueError()\n ValueError\n"\n'
         b'Command "/opt/venv/bin/python -- train.py"\n', "no cause"),
    ],
)
def test_failure_file_that_does_not_state_the_cause_fails(failure, verdict):
    with pytest.raises(Failed, match=verdict):
        training._failure_file_states_cause(context(), run(exit_code=1, failure=failure))


@pytest.mark.parametrize("text, cause", [
    (b"framework error: \nExecuteUserScriptError:\nExitCode 1\nErrorMessage \"TypeError: int + str\"\n",
     "TypeError: int + str"),
    (b'ExecuteUserScriptError:\nExitCode 1\nErrorMessage "raise ValueError(f\"{where}: not a number\") from None\n'
     b" ValueError\n training channel, t.csv line 2: 'abc' is not a number\"\nCommand \"python -- train.py\"\n",
     "training channel, t.csv line 2: 'abc' is not a number"),
    (b"Traceback (most recent call last):\n  File \"t.py\", line 3, in <module>\nKeyError: 'label'\n",
     "KeyError: 'label'"),
])
def test_a_toolkit_or_traceback_failure_with_a_message_states_the_cause(text, cause):
    assert cause in training._failure_file_states_cause(context(), run(exit_code=1, failure=text))


def test_failure_messages_show_the_lines_that_carry_the_error_from_the_whole_log():
    logs = ('Traceback (most recent call last):\n  File "/opt/ml/code/train.py", line 12, in main\n    x = 1 + "b"\n'
            "TypeError: unsupported operand\n" + "INFO noise\n" * 40 + TOOLKIT_FAILURE.decode())
    text = describe(Failed("exit 1", run=run(exit_code=1, logs=logs)), "TRAIN-15 (MUST)", None)
    carrying = text.split("that carry the error:\n", 1)[1].split("  last 20 log lines", 1)[0]
    assert '    |   File "/opt/ml/code/train.py", line 12, in main\n    |     x = 1 + "b"\n' \
        '    | TypeError: unsupported operand\n' in carrying
    assert "ExecuteUserScriptError: ExecuteUserScriptError:" in carrying


def test_failure_file_with_the_cause_first_passes():
    text = b"train.csv, line 3: not a number\n\nTraceback (most recent call last):\n  ..."
    assert "line 3: not a number" in training._failure_file_states_cause(context(), run(exit_code=1, failure=text))


def test_failure_file_of_a_run_that_exited_zero_is_not_applicable():
    with pytest.raises(NotApplicable):
        training._failure_file_states_cause(context(), run(exit_code=0))


def test_a_run_that_could_not_start_is_inconclusive_for_training_checks():
    with pytest.raises(Inconclusive, match="could not start"):
        training.good_input_exits_zero(context(good=run(exit_code=None, start_error="exec: train not found")))


@pytest.mark.parametrize(
    "entrypoint, shell_form",
    [
        (["/bin/sh", "-c", "python3 main.py"], True),
        (["/bin/bash", "-c", "exec python3 main.py"], True),
        (["python3", "main.py"], False),
        (["/usr/local/bin/entry.sh"], False),
    ],
)
def test_shell_form_is_recognised(entrypoint, shell_form):
    ctx = context(config={"Entrypoint": entrypoint})
    if shell_form:
        with pytest.raises(Failed, match="shell-form ENTRYPOINT"):
            image.exec_form_entrypoint(ctx)
    else:
        assert "exec-form" in image.exec_form_entrypoint(ctx)


def test_shell_form_that_drops_the_argument_cannot_reach_train():
    with pytest.raises(Failed, match=r"takes `train`/`serve` as \$0"):
        image.train_and_serve_reachable(context(config={"Entrypoint": ["/bin/sh", "-c", "python3 main.py"]}))


@pytest.mark.parametrize("entrypoint", [["/usr/bin/tini", "--"], ["/tini", "-g", "--", "serve"], ["tini-static"]])
def test_tini_is_flagged(entrypoint):
    with pytest.raises(Failed, match="as init"):
        image.no_tini(context(config={"Entrypoint": entrypoint}))


def test_failure_text_has_id_expected_observed_logs_and_reproduce(tmp_path: Path):
    verdict = Failed("exit 0", expected="non-zero", run=run(logs="line one\nline two\n"))
    text = describe(verdict, "TRAIN-15 (MUST) statement", reproduction(verdict, tmp_path))
    assert text.splitlines()[:3] == ["TRAIN-15 (MUST) statement", "  expected: non-zero", "  observed: exit 0"]
    assert "    | line two" in text
    assert "docker run --rm" in text and f"{tmp_path}/good-input/input:/opt/ml/input" in text
    assert (tmp_path / "good-input" / "input" / "config" / "inputdataconfig.json").is_file()


class FakeServe(Server):
    label, role, logs = "`serve` container (serve)", "serve", ""

    def __init__(self, healthy_after=0.4, exit_code=None, start_error=None):
        self.healthy_after, self.exit_code, self.start_error = healthy_after, exit_code, start_error

    def outcome(self):
        return f"exit {self.exit_code}"

    def reproduce(self, repro_dir):
        return "docker run ... serve"


def served(config=None, serve=None, disabled=None, stop_seconds=1.0, **runs) -> Context:
    ctx = context(config, **runs)
    ctx.training.disabled = disabled
    ctx.hosting = SimpleNamespace(image="algo:1", shared=serve or FakeServe(),  # type: ignore[assignment]
                                  stopped_by_sigterm=SimpleNamespace(seconds=stop_seconds, server=serve))
    return ctx


def test_train_and_serve_seen_to_start_pass_img_01():
    summary = image.train_and_serve_reachable(served({"Entrypoint": ["/usr/bin/dispatch"]}))
    assert "`train` ran and exited with code 0" in summary and "`serve` answered /ping 200" in summary
    assert 'ENTRYPOINT ["/usr/bin/dispatch"]' in summary


@pytest.mark.parametrize("runs, observed", [
    ({"good": run(exit_code=127, logs="dispatch: exec: train: not found\n")},
     "exited with code 127, command not found"),
    ({"good": run(exit_code=None, start_error='exec: "train": executable file not found in $PATH')},
     "could not start: exec"),
    ({"serve": FakeServe(healthy_after=None, exit_code=0)}, "`serve` exited with code 0 without serving"),
    ({"serve": FakeServe(healthy_after=None, exit_code=126)}, "126, not executable"),
])
def test_a_program_the_argument_does_not_start_fails_img_01_with_the_configuration(runs, observed):
    with pytest.raises(Failed, match=observed) as failure:
        image.train_and_serve_reachable(served({"Entrypoint": ["/usr/bin/dispatch"], "Cmd": None}, **runs))
    assert 'the image has ENTRYPOINT ["/usr/bin/dispatch"], CMD null' in failure.value.observed


def test_img_01_with_no_program_seen_to_start_is_inconclusive():
    with pytest.raises(Inconclusive, match="no program was seen to start"):
        image.train_and_serve_reachable(served(good=run(exit_code=None, killed_at_deadline=True),
                                               serve=FakeServe(healthy_after=None, exit_code=None)))


def test_tini_in_an_inference_only_image_is_judged_by_what_it_passes_on():
    tini = {"Entrypoint": ["/usr/bin/tini", "--"]}
    assert "passes `serve` on" in image.no_tini(served(tini, disabled="--byoc-model given"))
    with pytest.raises(Failed, match="still running 30 s after SIGTERM"):
        image.no_tini(served(tini, disabled="--byoc-model given", stop_seconds=None))


def _effects_context(first: bytes, again: bytes, changed: bytes | None, *, changed_exit: int = 0):
    from byoc_conformance.declaration import Declaration
    from byoc_conformance.training import Effects

    def model(content: bytes | None):
        return model_archive({} if content is None else {"model.bin": content})

    effects = Effects({"depth": "5"}, run(model_archive=model(first)), run(model_archive=model(again)),
                      {"depth": ("20", run(model_archive=model(changed), exit_code=changed_exit))})
    declared = Declaration(None, training={"SupportedHyperParameters": [{
        "Name": "depth", "Type": "Integer", "IsTunable": True, "DefaultValue": "5",
        "Range": {"IntegerParameterRangeSpecification": {"MinValue": "1", "MaxValue": "20"}}}]})
    ctx = context()
    ctx.training.hyperparameter_effects = effects
    ctx.declaration = declared
    return ctx


def test_a_tunable_hyperparameter_that_changes_the_model_passes():
    assert "depth='20'" in training.tunable_hyperparameters_change_the_model(_effects_context(b"a", b"a", b"b"))


def test_a_tunable_hyperparameter_that_leaves_the_model_unchanged_fails():
    with pytest.raises(Failed, match="byte for byte the same with depth='20' as with depth='5'"):
        training.tunable_hyperparameters_change_the_model(_effects_context(b"a", b"a", b"a"))


@pytest.mark.parametrize(("first", "again", "changed", "changed_exit", "why"), [
    (b"a", b"b", b"c", 0, "two runs with the same input left different models"),
    (b"a", b"a", None, 0, "/opt/ml/model was left empty"),
    (b"a", b"a", b"b", 1, "so there is no model to compare"),
])
def test_no_model_or_no_reproducible_model_leaves_train_23_inconclusive(first, again, changed, changed_exit, why):
    with pytest.raises(Inconclusive, match=why):
        training.tunable_hyperparameters_change_the_model(
            _effects_context(first, again, changed, changed_exit=changed_exit))


def test_a_multi_host_job_is_reproduced_on_a_network_of_its_own(tmp_path: Path):
    job_input = opt_ml.TrainingInput({"training": {"t.csv": b"1,2\n"}}, hosts=opt_ml.host_names(2))
    job = run(training_input=job_input)
    job.peers = [dataclasses.replace(job, host="algo-2", peers=[])]
    text = job.reproduce(tmp_path)
    assert text.splitlines()[0] == "docker network create --internal byoc-repro-good-input"
    assert "--network-alias algo-2 --hostname algo-2" in text
    config = json.loads((tmp_path / "good-input" / "algo-2" / "input" / "config" / "resourceconfig.json").read_text())
    assert config["current_host"] == "algo-2" and config["hosts"] == ["algo-1", "algo-2"]
    assert "docker wait byoc-repro-good-input-algo-1 byoc-repro-good-input-algo-2" in text


def job(*hosts: TrainingRun) -> TrainingRun:
    """A multi-host job: the first run is algo-1's, the others its peers."""
    first, *peers = hosts
    first.peers = list(peers)
    return first


def distributed_context(distributed) -> Context:
    ctx = context()
    ctx.training.distributed = distributed
    return ctx


def test_hosts_that_all_exit_0_with_a_model_train_together():
    ctx = distributed_context(job(run(), run(host="algo-2", model_archive=model_archive({}))))
    assert "the model from algo-1 (1 file(s))" in training.hosts_train_together(ctx)


def test_a_host_that_fails_fails_the_job_and_its_log_is_shown():
    failing = run(host="algo-2", exit_code=None, killed_at_deadline=True, duration=60.0, logs="waiting for algo-1\n",
                  label="2-host job: host algo-2")
    ctx = distributed_context(job(run(), failing))
    with pytest.raises(Failed, match="on algo-2 was still running after 60.0 s") as raised:
        training.hosts_train_together(ctx)
    assert raised.value.run.label == "2-host job: host algo-2" and "waiting for algo-1" in raised.value.run.logs


def test_hosts_stopped_because_another_failed_are_not_the_cause():
    stopped = run(exit_code=None, stopped_with_job=True, duration=4.0)
    ctx = distributed_context(job(stopped, run(host="algo-2", exit_code=1)))
    with pytest.raises(Failed) as raised:
        training.hosts_train_together(ctx)
    assert "was stopped by the harness after 4.0 s, when another host failed" in str(raised.value)
    assert raised.value.run.label == run().label  # algo-2's


def test_no_model_on_any_host_fails():
    empty = {"model_archive": model_archive({})}
    with pytest.raises(Failed, match="empty on all of them"):
        training.hosts_train_together(distributed_context(job(run(**empty), run(host="algo-2", **empty))))


@pytest.mark.parametrize("second, verdict", [
    ({}, None),  # only algo-1 writes
    ({"model.json": b"{}"}, None),  # the same weights on both hosts
    ({"model.json": b'{"host": "algo-2"}'}, Failed),  # one would replace the other in model.tar.gz
    ({"algo-2.json": b"{}"}, None),  # unique names
])
def test_model_file_names_clash_only_with_different_contents(second, verdict):
    ctx = distributed_context(job(run(), run(host="algo-2", model_archive=model_archive(second))))
    if verdict is None:
        training.model_names_unique_across_hosts(ctx)
    else:
        with pytest.raises(verdict, match="model.json on algo-1, algo-2"):
            training.model_names_unique_across_hosts(ctx)


def test_distributed_checks_are_not_applicable_without_the_claim():
    from byoc_conformance.training import TrainingRuns
    runs = TrainingRuns(None, RunOptions("algo"))  # type: ignore[arg-type]
    with pytest.raises(Unclaimed, match="SupportsDistributedTraining"):
        runs.distributed  # noqa: B018


def _piped(feed_log: str, **fields) -> Context:
    from byoc_conformance import pipe
    piped_input = dataclasses.replace(opt_ml.good_input(), delivery={"training": opt_ml.ChannelConfig("Pipe")})
    ctx = context()
    ctx.training.piped = run(slug="pipe-mode", training_input=piped_input,
                             feed=pipe.Feed.parse(("training",), feed_log), **fields)
    return ctx


READ_TWICE = "byoc-feed training 0 opened\nbyoc-feed training 0 delivered\nbyoc-feed training 1 opened\n"


def test_a_pipe_run_that_reads_its_fifos_and_trains_passes_and_says_how_much_it_read():
    assert "'training': 2 epoch FIFO(s) opened, 1 read to the end" in training.pipe_channels_read(_piped(READ_TWICE))


@pytest.mark.parametrize("feed_log, fields, verdict, message", [
    ("", {}, Failed, "never opened training_0"),  # trained on something else
    (READ_TWICE, {"exit_code": 1}, Failed, "exited with code 1 after 3.0 s; 'training': 2 epoch FIFO"),
    ("", {"exit_code": 1, "logs": "no data: the 'training' channel has no files\n"}, Failed, "0 epoch FIFO"),
    (READ_TWICE, {"model_archive": model_archive({})}, Failed, "/opt/ml/model is empty"),
    ("sh: 1: mkfifo: not found\nbyoc-feed training 0 mkfifo-failed\n", {}, Inconclusive, "could not feed"),
    ("", {"start_error": "exec: \"/bin/sh\": no such file"}, Inconclusive, "could not feed"),
])
def test_a_pipe_run_fails_on_what_the_program_did_and_is_inconclusive_on_what_the_harness_could_not_do(
        feed_log, fields, verdict, message):
    with pytest.raises(verdict, match=message):
        training.pipe_channels_read(_piped(feed_log, **fields))


def test_fastfile_and_key_tree_runs_pass_on_a_model_and_fail_on_an_exit_code():
    ctx = context()
    fastfile_input = dataclasses.replace(opt_ml.good_input(), delivery={"training": opt_ml.ChannelConfig("FastFile")})
    ctx.training.fastfile = run(training_input=fastfile_input)
    assert "'training' read-only, 1 file(s): training.csv" in training.fastfile_channels_read_only(ctx)
    ctx.training.key_tree = run(training_input=opt_ml.key_tree_input(opt_ml.DEFAULTS))
    assert "'training' held 3 file(s): year=2026/month=10/part-00000.csv" in training.nested_key_tree_read(ctx)
    ctx.training.fastfile = run(training_input=fastfile_input, exit_code=1, logs="Read-only file system\n")
    with pytest.raises(Failed, match="exited with code 1"):
        training.fastfile_channels_read_only(ctx)
    ctx.training.key_tree = run(training_input=opt_ml.key_tree_input(opt_ml.DEFAULTS), exit_code=1)
    with pytest.raises(Failed, match="the channel held 3 file"):
        training.nested_key_tree_read(ctx)


def test_a_sharded_job_fails_on_the_host_that_assumed_it_had_all_the_data():
    sharded_input = opt_ml.key_tree_input(opt_ml.DEFAULTS, hosts=opt_ml.host_names(2))
    ctx = distributed_context(job(run(), run(host="algo-2")))
    ctx.training.sharded = job(run(training_input=sharded_input, exit_code=1, logs="hosts disagree\n"),
                               run(training_input=sharded_input, host="algo-2", stopped_with_job=True, exit_code=None))
    with pytest.raises(Failed, match="algo-1: 2, algo-2: 1 file") as raised:
        training.sharded_channel_trains(ctx)
    assert "hosts disagree" in raised.value.run.logs
    ctx.training.sharded = job(run(training_input=sharded_input),
                               run(training_input=sharded_input, host="algo-2", model_archive=model_archive({})))
    assert "shards of 'training': algo-1: 2, algo-2: 1 file(s)" in training.sharded_channel_trains(ctx)


def _checkpoint_context(interrupted: TrainingRun, resumed: TrainingRun, resumed_pattern: str | None = "^resuming",
                        metrics: bool = True) -> Context:
    import re

    from byoc_conformance.declaration import Checkpoints, Declaration
    definitions = [{"Name": "train:mse", "Regex": "train_mse=(.*?);"}] if metrics else []
    ctx = context(good=run(logs="".join(f"epoch={n} train_mse=1.0;\n" for n in range(1, 11))))
    ctx.declaration = Declaration(None, training={"MetricDefinitions": definitions},
                                  checkpoints=Checkpoints(re.compile(resumed_pattern) if resumed_pattern else None))
    ctx.training.resumed = (interrupted, resumed)
    return ctx


STOPPED = dict(slug="interrupted", signal_at=1.5, duration=1.6, checkpoint_files={"checkpoint.json": 80})


def test_checkpoints_left_by_a_stopped_run_pass_and_none_fail():
    ctx = _checkpoint_context(run(**STOPPED), run())
    assert "stopped with SIGTERM 1.5 s in" in training.checkpoints_written(ctx)
    ctx = _checkpoint_context(run(**{**STOPPED, "checkpoint_files": {}}), run())
    with pytest.raises(Failed, match="left /opt/ml/checkpoints empty"):
        training.checkpoints_written(ctx)
    with pytest.raises(Inconclusive, match="no checkpoint to resume from"):
        training.training_resumes_from_checkpoints(ctx)


def test_a_run_that_ended_before_the_stop_proves_nothing_about_checkpoints():
    ctx = _checkpoint_context(run(**{**STOPPED, "signal_at": None}), run())
    with pytest.raises(Inconclusive, match="ended before the harness stopped it"):
        training.checkpoints_written(ctx)


@pytest.mark.parametrize("logs, pattern, metrics, verdict", [
    ("resuming at epoch 6\nepoch=6 train_mse=1.0;\n", "^resuming", True, None),
    ("epoch=1 train_mse=1.0;\n" * 10, "^resuming", True, Failed),  # no resume line: started over
    ("".join(f"epoch={n} train_mse=1.0;\n" for n in range(6, 11)), None, True, None),  # 5 of 10 epoch lines
    ("".join(f"epoch={n} train_mse=1.0;\n" for n in range(1, 11)), None, True, Failed),  # all 10 again
    ("epoch=6\n", None, False, Inconclusive),  # nothing tells
])
def test_a_resumed_run_is_told_by_its_declared_line_or_by_fewer_epochs(logs, pattern, metrics, verdict):
    ctx = _checkpoint_context(run(**STOPPED), run(slug="resumed", logs=logs), pattern, metrics)
    if verdict is None:
        training.training_resumes_from_checkpoints(ctx)
    else:
        with pytest.raises(verdict):
            training.training_resumes_from_checkpoints(ctx)


def _jobs_context(signalled: list[TrainingRun], twin: list[TrainingRun], baseline_code: int = 0) -> Context:
    ctx = distributed_context(job(run(exit_code=baseline_code), run(host="algo-2")))
    ctx.training.signalled_jobs = (job(*signalled), job(*twin))
    return ctx


def _hosts(durations, **fields) -> list[TrainingRun]:
    return [run(host=f"algo-{n}", duration=duration, **fields) for n, duration in enumerate(durations, 1)]


def test_a_job_whose_every_host_stops_sooner_than_its_twin_passes():
    ctx = _jobs_context(_hosts([1.4, 1.0], signal_at=1.2, disposition=CATCHES), _hosts([3.5, 3.1]))
    assert "the last host (algo-1) ended 1.40 s in, against the twin job's 3.50 s" in \
        training.sigterm_stops_every_host(ctx)


def test_a_host_without_a_handler_fails_the_job_whatever_the_timing():
    signalled = _hosts([1.4, 3.1], signal_at=1.2, disposition=CATCHES)
    signalled[1].disposition = NO_HANDLER
    with pytest.raises(Failed, match="on algo-2: PID 1 .* has no handler for SIGTERM") as raised:
        training.sigterm_stops_every_host(_jobs_context(signalled, _hosts([3.5, 3.1])))
    assert raised.value.run.label == signalled[1].label


def test_a_job_never_signalled_because_a_host_never_had_a_handler_fails_on_that_host():
    signalled = _hosts([3.4, 3.4], pid1_readings=40, pid1_read_until=3.3)
    signalled[0].pid1_ever_receives = True
    ctx = _jobs_context(signalled, _hosts([3.5, 3.1]))
    signalled[0].signal_due = 1.2
    with pytest.raises(Failed, match=r"on algo-2: PID 1 neither caught.* 40 readings over its first 3.3 s .*held back"):
        training.sigterm_stops_every_host(ctx)
    signalled[1].pid1_read_until = 1.0  # read only before the signal was due: nothing tells
    with pytest.raises(Inconclusive, match="the job ended before SIGTERM was due"):
        training.sigterm_stops_every_host(ctx)


def test_a_job_that_trains_on_after_sigterm_fails_on_its_last_host():
    signalled = _hosts([3.4, 3.0], signal_at=1.2, disposition=CATCHES)
    with pytest.raises(Failed, match="no sooner done than the twin, so the signal did not stop every host"):
        training.sigterm_stops_every_host(_jobs_context(signalled, _hosts([3.5, 3.1])))


@pytest.mark.parametrize("baseline_code, twin_code, message", [
    (1, 0, "the multi-host job does not complete"), (0, 1, "the unsignalled twin job gives nothing to compare"),
])
def test_a_job_that_cannot_be_compared_is_inconclusive(baseline_code, twin_code, message):
    ctx = _jobs_context(_hosts([1.4, 1.0], signal_at=1.2, disposition=CATCHES),
                        _hosts([3.5, 3.1], exit_code=twin_code), baseline_code)
    with pytest.raises(Inconclusive, match=message):
        training.sigterm_stops_every_host(ctx)


def test_a_sharded_job_is_not_judged_when_the_replicated_one_fails_already():
    ctx = distributed_context(job(run(), run(host="algo-2", exit_code=1)))
    with pytest.raises(Inconclusive, match="with a replicated channel does not complete"):
        training.sharded_channel_trains(ctx)


def test_a_variation_of_good_input_is_not_judged_when_good_input_fails_already():
    ctx = context(good=run(exit_code=127))
    ctx.training.key_tree = run(exit_code=127)
    with pytest.raises(Inconclusive, match="training on good input fails already"):
        training.nested_key_tree_read(ctx)


def test_a_variation_of_good_input_is_not_judged_when_good_input_leaves_no_model_already():
    ctx = context(good=run(model_archive=model_archive({})))
    ctx.training.key_tree = run(model_archive=model_archive({}))
    with pytest.raises(Inconclusive, match="leaves no model already"):
        training.nested_key_tree_read(ctx)


class RunningServe(FakeServe):
    def __init__(self, pid1):
        super().__init__()
        self.process = pid1

    def exited(self):
        return False

    def pid1(self):
        return self.process


def _serving_as(pid1, remapped=False, user=""):
    ctx = served({"User": user}, serve=RunningServe(pid1))
    ctx.hosting.plan = Plan()  # IMG-04 reads PID 1 through a planned run (serving.shared_pid1)
    ctx.engine = SimpleNamespace(remapped_users=remapped)  # type: ignore[assignment]
    return ctx


def test_a_server_whose_pid1_is_root_serves_as_root():
    summary = image.serves_as_root(_serving_as(Process("root", "python3 serve")))
    assert "PID 1 (python3 serve) runs as root (UID 0); the image sets no USER (root)" in summary


def test_a_server_whose_pid1_is_not_root_fails_naming_the_user_and_the_image_user():
    with pytest.raises(Failed, match=r"runs as nobody, not root; the image's USER is 'nobody'"):
        image.serves_as_root(_serving_as(Process("nobody", "python3 serve"), user="nobody"))
    with pytest.raises(Failed, match=r"runs as 1000, not root"):  # a user ID the engine's host has no name for
        image.serves_as_root(_serving_as(Process("1000", "python3 serve")))


@pytest.mark.parametrize("pid1, remapped", [(None, False), (Process("root", "serve"), True)])
def test_the_user_of_pid1_unseen_or_remapped_is_inconclusive(pid1, remapped):
    with pytest.raises(Inconclusive):
        image.serves_as_root(_serving_as(pid1, remapped=remapped))


def test_the_tuning_run_of_an_algorithm_image_adds_only_the_objective_metric():
    from byoc_conformance.training import TrainingRuns

    class Recorder:
        def run(self, slug, label, training_input, **options):
            self.given = training_input.hyperparameters
            return run(slug=slug, training_input=training_input)

    recorder = Recorder()
    runs = TrainingRuns(recorder, RunOptions("algo"))  # type: ignore[arg-type]
    runs.tuning  # noqa: B018
    # sagemaker_program and the other SDK entries would switch AWS's XGBoost container to script mode.
    assert recorder.given == {"_tuning_objective_metric": "validation:error"}


def test_bad_input_is_not_judged_when_good_input_fails_for_the_same_reason():
    missing = "KeyError: 'SM_CHANNEL_TRAIN'\n"
    ctx = context(good=run(exit_code=1, logs=missing), corrupt_csv=run(slug="corrupt-csv", exit_code=1, logs=missing))
    with pytest.raises(Inconclusive, match="training on good input fails too .* says nothing about the bad input"):
        training.corrupt_csv_exits_nonzero(ctx)
    with pytest.raises(Inconclusive, match="training on good input fails too"):
        training.corrupt_csv_failure_file(ctx)


def _key_tree_context(model: bytes, twin_model: bytes = b"{}", logs: str = "read 120 rows\n") -> Context:
    ctx = context(good=run(logs="read 120 rows\n"), twin=run(slug="sigterm-twin",
                                                               model_archive=model_archive({"model.json": twin_model})))
    ctx.training.key_tree = run(training_input=opt_ml.key_tree_input(opt_ml.DEFAULTS), logs=logs,
                                model_archive=model_archive({"model.json": model}))
    return ctx


def test_a_deterministic_image_that_trains_a_different_model_from_the_nested_tree_did_not_read_all_of_it():
    assert "the same model as the good run" in training.nested_key_tree_read(_key_tree_context(b"{}"))
    with pytest.raises(Failed, match=r"not the one the good run leaves.*its log says 40 rows, the good run's 120 "
                                     r"rows.*did not read all of it"):
        training.nested_key_tree_read(_key_tree_context(b'{"w": 1}', logs="read 40 rows\n"))


def test_a_non_deterministic_image_is_judged_on_exit_and_model_and_says_so():
    verdict = training.nested_key_tree_read(_key_tree_context(b'{"w": 1}', twin_model=b'{"w": 2}'))
    assert "trains a different model from the same input" in verdict


def test_a_run_that_ends_before_its_signal_fails_when_pid1_never_had_a_handler_and_is_inconclusive_otherwise():
    short = dict(slug="sigterm", duration=0.7, signal_due=0.4, disposition=None)
    with pytest.raises(Failed, match="in any of 5 readings over its first 0.6 s"):
        training.sigterm_stops_training(context(signalled=run(**short, pid1_readings=5, pid1_read_until=0.6)))
    with pytest.raises(Inconclusive, match="before SIGTERM was sent"):  # read only before it was due
        training.sigterm_stops_training(context(signalled=run(**short, pid1_readings=5, pid1_read_until=0.3)))
    with pytest.raises(Inconclusive, match="before SIGTERM was sent"):
        training.sigterm_stops_training(context(signalled=run(**short, pid1_readings=5, pid1_ever_receives=True)))
    with pytest.raises(Inconclusive, match="before SIGTERM was sent"):  # nothing read: nothing to judge
        training.sigterm_stops_training(context(signalled=run(**short)))


def test_a_run_that_did_not_happen_is_judged_by_the_registry_unless_the_check_judged_it():
    from byoc_conformance.outcome import CouldNotRun
    from byoc_conformance.registry import Check, judge

    def reads(outcome):
        def func(ctx):
            raise outcome
        return Check("TRAIN-15", "x", func)

    server = SimpleNamespace(label="server", logs="")
    with pytest.raises(NotApplicable, match="no label") as raised:
        judge(reads(Unclaimed("no label")), context())
    assert raised.value.run is None
    with pytest.raises(Inconclusive, match="never healthy") as raised:
        judge(reads(CouldNotRun("never healthy", run=server)), context())
    assert raised.value.run is server
    with pytest.raises(Failed, match="judged"):  # a check's own verdict passes through
        judge(reads(Failed("judged")), context())

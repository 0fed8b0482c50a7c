"""The training checks' judgement on hand-made runs: exit codes on good and bad input, the model, and the
declaration-driven variations (hyperparameters, channels). The signal, multi-host and input-mode checks are in
test_checks.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from byoc_conformance import declaration, hyperparameters, opt_ml
from byoc_conformance.checks import training
from byoc_conformance.registry import CHECKS, Context
from byoc_conformance.training import TrainingRuns
from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable

from ..suite_runs import SAMPLES
from .test_checks import model_archive, run

REFERENCE = declaration.load(SAMPLES / "reference" / "byoc-spec.json")  # channels training (required), validation
PROBE = hyperparameters.Probe("epochs", "0", "below the declared minimum 1")
NO_IMAGE = "no such image"


def context(declared=REFERENCE, **runs) -> Context:
    runs.setdefault("good", run())
    return Context(None, "algo:1", {}, SimpleNamespace(**runs), None, declared)  # type: ignore[arg-type]


def bad(**fields):
    return run(slug="empty-channel", **{"exit_code": 1, "failure": b"the training channel is empty", **fields})


# TRAIN-15 and TRAIN-13 on the good run

def test_good_input_that_exits_0_passes_and_one_that_does_not_fails():
    assert training.good_input_exits_zero(context()) == "`train` exited with code 0 after 3.0 s"
    with pytest.raises(Failed, match="exited with code 2") as verdict:
        training.good_input_exits_zero(context(good=run(exit_code=2)))
    assert verdict.value.expected.startswith("exit code 0")


def test_a_model_is_listed_with_its_size_and_first_names():
    files = {f"part-{n}.bin": b"x" * n for n in range(7)}
    summary = training.model_written(context(good=run(model_archive=model_archive(files))))
    assert summary == "7 file(s), 21 bytes in /opt/ml/model: part-0.bin, part-1.bin, part-2.bin, part-3.bin, " \
                      "part-4.bin, ..."


def test_a_model_that_could_not_be_read_is_inconclusive():
    with pytest.raises(Inconclusive, match="/opt/ml/model could not be read"):
        training.model_written(context(good=run(model_archive=None)))


# TRAIN-15 and TRAIN-16 on bad input

def test_bad_input_that_fails_passes_and_bad_input_that_trains_or_hangs_fails():
    assert training.empty_channel_exits_nonzero(context(empty_channel=bad())) == \
        "`train` exited with code 1 after 3.0 s"
    for accepted in (run(exit_code=0), run(exit_code=None, killed_at_deadline=True)):
        with pytest.raises(Failed, match="`train`"):
            training.corrupt_csv_exits_nonzero(context(corrupt_csv=accepted))


def test_bad_input_is_not_judged_when_either_run_could_not_start():
    with pytest.raises(Inconclusive, match=NO_IMAGE):
        training.empty_channel_exits_nonzero(context(empty_channel=bad(exit_code=None, start_error=NO_IMAGE)))
    with pytest.raises(Inconclusive, match=NO_IMAGE):
        training.empty_channel_exits_nonzero(context(good=run(exit_code=None, start_error=NO_IMAGE),
                                                     empty_channel=bad()))


@pytest.mark.parametrize("failure, observed", [
    (None, "no /opt/ml/output/failure"),
    (b"\xff\xfe broken", "is not UTF-8 text"),
    (b"  \n", r"is empty \(3 bytes\)"),
])
def test_a_failure_file_missing_unreadable_or_empty_fails(failure, observed):
    with pytest.raises(Failed, match=observed):
        training.corrupt_csv_failure_file(context(corrupt_csv=bad(failure=failure)))


def test_a_bad_input_run_stopped_at_the_deadline_never_reported_a_failure():
    with pytest.raises(Inconclusive, match="never reported a failure"):
        training.empty_channel_failure_file(context(empty_channel=bad(exit_code=None, killed_at_deadline=True)))


# TRAIN-04: declared hyperparameters

def test_declared_hyperparameter_sets_that_train_pass_and_one_that_fails_names_its_values():
    drawn = run(training_input=opt_ml.good_input(hyperparameters={"epochs": "3"}))
    assert training.declared_hyperparameters_accepted(context(valid_hyperparameter_runs=[drawn, drawn])) == \
        '2 drawn set(s) trained and exited 0: {"epochs": "3"}; {"epochs": "3"}'
    failed = run(exit_code=1, training_input=opt_ml.good_input(hyperparameters={"epochs": "50"}))
    with pytest.raises(Failed, match=r'with hyperparameters.json \{"epochs": "50"\}: `train` exited with code 1'):
        training.declared_hyperparameters_accepted(context(valid_hyperparameter_runs=[drawn, failed]))


def test_no_drawn_set_is_inconclusive_and_no_declared_hyperparameter_not_applicable():
    with pytest.raises(Inconclusive, match="no set of declared hyperparameters was drawn"):
        training.declared_hyperparameters_accepted(context(valid_hyperparameter_runs=[]))
    with pytest.raises(NotApplicable, match="no SupportedHyperParameters"):
        training.declared_hyperparameters_accepted(context(declaration.load(None)))


def test_rejected_invalid_hyperparameters_pass_and_say_how_many_were_left_untried():
    summary = training.invalid_hyperparameters_rejected(
        context(invalid_hyperparameter_runs=[(PROBE, bad())], untried_probes=4))
    assert summary == f"1 invalid set(s) rejected: {PROBE.describe()} (4 more left untried: " \
                      "--byoc-hyperparameter-probes)"
    assert "left untried" not in training.invalid_hyperparameters_rejected(
        context(invalid_hyperparameter_runs=[(PROBE, bad())], untried_probes=0))


def test_a_failure_file_is_not_read_when_no_invalid_set_was_rejected():
    with pytest.raises(Inconclusive, match="no invalid hyperparameter set was rejected"):
        training.failure_names_hyperparameter(context(invalid_hyperparameter_runs=[(PROBE, run(exit_code=0))]))


# TRAIN-05 and TRAIN-06: what a tuning job adds, and channels left out

def test_a_tuning_run_that_trains_passes_naming_every_hyperparameter_it_was_given():
    tuning = run(training_input=opt_ml.good_input(hyperparameters={"_tuning_objective_metric": "validation:mse",
                                                                   "epochs": "3"}))
    assert training.undeclared_hyperparameters_tolerated(context(tuning=tuning)) == \
        "`train` exited with code 0 after 3.0 s with _tuning_objective_metric, epochs"
    with pytest.raises(Failed, match="with hyperparameters.json"):
        training.undeclared_hyperparameters_tolerated(context(tuning=run(exit_code=1)))


def test_leaving_out_the_optional_channels_must_still_train():
    only = run(training_input=opt_ml.TrainingInput({"training": {}}, {}))
    assert training.optional_channels_omitted(context(required_channels_only=only)) == \
        "`train` exited with code 0 after 3.0 s with training only"
    with pytest.raises(Failed, match="exited with code 1") as verdict:
        training.optional_channels_omitted(context(required_channels_only=run(exit_code=1)))
    assert "the channels declared IsRequired false may be left out" in verdict.value.expected


def test_each_missing_required_channel_must_fail_with_a_failure_file():
    assert training.missing_required_channel_rejected(context(missing_channels=[bad()])) == \
        "runs without 'training' each exited non-zero with a failure file"
    for accepted, says in ((run(exit_code=0, failure=b"no cause"), "present"), (bad(failure=b" "), "absent or empty"),
                           (bad(failure=None), "absent or empty")):
        with pytest.raises(Failed, match=f"without the 'training' channel: .*; failure file {says}"):
            training.missing_required_channel_rejected(context(missing_channels=[accepted]))


def test_a_declaration_without_a_required_channel_has_none_to_leave_out():
    optional = declaration.Declaration(REFERENCE.source, training=REFERENCE.training,
                                       channels=(declaration.Channel("training", False, ("text/csv",)),))
    with pytest.raises(NotApplicable, match="no channel is declared IsRequired"):
        training.missing_required_channel_rejected(context(optional))


def test_the_training_checks_name_the_runs_they_read_by_reference():
    named = {name for entry in CHECKS.values() if entry.func.__module__ == training.__name__ for name in entry.runs}
    assert named and all(isinstance(getattr(TrainingRuns, name.name, None), type(name)) for name in named)

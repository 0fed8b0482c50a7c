"""The declaration-driven checks' judgement on fake runs. Each is proven on real images by the samples of
tests/integration/test_samples.py."""

import dataclasses
from types import SimpleNamespace

import pytest

from byoc_conformance import declaration, hyperparameters
from byoc_conformance.checks import declaration as declared_checks
from byoc_conformance.checks import hosting, metrics, training
from byoc_conformance.hosting import Hosting
from byoc_conformance.options import RunOptions
from byoc_conformance.outcome import CouldNotRun
from byoc_conformance.payloads import Traffic
from byoc_conformance.registry import Context
from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable

from ..suite_runs import SAMPLES
from .test_checks import run

REFERENCE = declaration.load(SAMPLES / "reference" / "byoc-spec.json")
# As the reference prints them: tab-separated, which its validation:mse regex reads as #011.
LINES = "".join(f"epoch={n}\ttrain_mse={1 / n:.3f};\tvalidation_mse={2 / n:.3f};\n" for n in range(1, 4))


def context(declared=REFERENCE, **runs) -> Context:
    runs.setdefault("good", run())
    return Context(engine=None, image="algo:1", image_config={}, training=SimpleNamespace(**runs),  # type: ignore[arg-type]
                   hosting=None, declaration=declared)  # type: ignore[arg-type]


def test_emitted_metrics_pass_with_their_series():
    summary = metrics.declared_metrics_emitted(context(good=run(logs=LINES)))
    assert summary == "train:mse: 3 values, last 0.333; validation:mse: 3 values, last 0.667"


def test_a_metric_written_only_to_a_file_fails_and_says_where_it_went():
    good = run(logs="epoch 1 done\n", output_files={"data/metrics.log": LINES.encode()})
    with pytest.raises(Failed, match=r"train:mse: no value \(it matches in /opt/ml/output/data/metrics.log, but "
                                     r"SageMaker reads only stdout and stderr\)"):
        metrics.declared_metrics_emitted(context(good=good))


def test_metrics_of_a_failed_run_are_inconclusive_and_without_definitions_not_applicable():
    with pytest.raises(Inconclusive):
        metrics.declared_metrics_emitted(context(good=run(exit_code=1, logs=LINES)))
    with pytest.raises(NotApplicable):
        metrics.declared_metrics_emitted(context(declaration.load(None), good=run(logs=LINES)))


def test_the_objective_must_be_emitted_by_the_tuning_style_run():
    assert "validation:mse: 3 values" in metrics.objective_metrics_emitted(context(tuning=run(logs=LINES)))
    with pytest.raises(Failed, match="validation:mse: no value"):
        metrics.objective_metrics_emitted(context(tuning=run(logs="epoch=1 train_mse=1;\n")))


def test_a_failure_file_that_does_not_name_the_hyperparameter_fails():
    probe = hyperparameters.Probe("epochs", "0", "below the declared minimum 1")
    vague = run(exit_code=1, failure=b"invalid hyperparameter value")
    ctx = context(invalid_hyperparameter_runs=[(probe, vague)])
    with pytest.raises(Failed, match=r"with epochs='0' .*, the FailureReason reads 'invalid hyperparameter value'"):
        training.failure_names_hyperparameter(ctx)
    named = run(exit_code=1, failure=b"hyperparameter epochs='0' must be from 1 to 50")
    assert training.failure_names_hyperparameter(context(invalid_hyperparameter_runs=[(probe, named)])) == \
        "1 failure file(s) name the hyperparameter"


def test_an_accepted_invalid_value_fails_and_a_run_stopped_at_the_deadline_is_not_a_rejection():
    probe = hyperparameters.Probe("learning_rate", "0.07495", "above the declared maximum 0.05")
    for accepted in (run(exit_code=0), run(exit_code=None, killed_at_deadline=True)):
        ctx = context(invalid_hyperparameter_runs=[(probe, accepted)], untried_probes=0)
        with pytest.raises(Failed, match="with learning_rate='0.07495'"):
            training.invalid_hyperparameters_rejected(ctx)


def test_channel_checks_need_a_declared_training_specification():
    with pytest.raises(NotApplicable, match="no TrainingSpecification"):
        training.optional_channels_omitted(context(declaration.load(None)))


def test_without_a_declaration_the_declaration_itself_is_not_applicable():
    with pytest.raises(NotApplicable):
        declared_checks.declaration_within_limits(context(declaration.load(None)))
    assert "within the API's limits" in declared_checks.declaration_within_limits(context())


def test_an_image_declared_without_csv_and_without_a_sample_request_cannot_be_sent_a_valid_request():
    no_csv = Hosting(None, RunOptions("algo:1", dataclasses.replace(  # type: ignore[arg-type]
        declaration.DEFAULTS, inference={"SupportedContentTypes": ["application/json"],
                                         "SupportedResponseMIMETypes": ["application/json"]})), lambda: None)
    assert no_csv.traffic == Traffic(takes_csv=False, accept="application/json")
    with pytest.raises(CouldNotRun, match="do not list text/csv, and it gives no sample request"):
        hosting.concurrent_requests(Context(None, "algo:1", {}, None, no_csv))  # type: ignore[arg-type]


def test_variations_of_a_good_run_that_fails_already_are_inconclusive():
    probe = hyperparameters.Probe("epochs", "0", "below the declared minimum 1")
    failed = run(exit_code=1)
    ctx = context(good=failed, tuning=failed, invalid_hyperparameter_runs=[(probe, failed)])
    for judged in (training.undeclared_hyperparameters_tolerated, training.invalid_hyperparameters_rejected,
                   training.optional_channels_omitted):
        with pytest.raises(Inconclusive, match="training on good input fails already"):
            judged(ctx)

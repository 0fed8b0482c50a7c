"""The metric checks' judgement (METRIC-01..05) on declarations and hand-made training runs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from byoc_conformance.checks import metrics
from byoc_conformance.declaration import Declaration
from byoc_conformance.registry import CHECKS, Context
from byoc_conformance.training import TrainingRuns
from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable

from .test_checks import run

SOURCE = Path("/specs/my algo.json")
GOOD = [{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}, {"Name": "validation:acc", "Regex": "acc=([0-9.]+)"}]
LOGS = "epoch 1 loss=0.9 acc=0.5\nepoch 2 loss=0.4 acc=0.75\n"


def declared(definitions=GOOD, objectives=()) -> Declaration:
    training = {"MetricDefinitions": definitions,
                "SupportedTuningJobObjectiveMetrics": [{"Type": "Maximize", "MetricName": name} for name in objectives]}
    return Declaration(SOURCE, training=training)


def context(declaration: Declaration, **runs) -> Context:
    return Context(None, "registry.example/algo:1", {}, SimpleNamespace(**runs),  # type: ignore[arg-type]
                   None, declaration)  # type: ignore[arg-type]


def test_definitions_within_the_api_s_limits_pass_and_others_fail_with_the_command_that_judges_them_again():
    assert metrics.definitions_within_limits(context(declared())) == "2 metric definitions within the API's limits"
    with pytest.raises(Failed, match="metric 'train:loss' is declared 2 times") as verdict:
        metrics.definitions_within_limits(context(declared([GOOD[0], GOOD[0]])))
    assert verdict.value.reproduce == \
        "pytest --image registry.example/algo:1 --byoc-spec '/specs/my algo.json' -k METRIC-02"
    assert "at most 40 MetricDefinitions" in verdict.value.expected


def test_regexes_with_one_capture_group_pass_and_others_fail():
    assert metrics.one_capture_group(context(declared())) == "2 regexes compile, each with one capture group"
    with pytest.raises(Failed, match=r"train:loss: 'loss=\[0-9.\]\+' has 0 capture groups") as verdict:
        metrics.one_capture_group(context(declared([{"Name": "train:loss", "Regex": "loss=[0-9.]+"}])))
    assert verdict.value.reproduce.endswith("-k METRIC-03")


@pytest.mark.parametrize("judged", [metrics.definitions_within_limits, metrics.one_capture_group,
                                    metrics.declared_metrics_emitted])
def test_without_metric_definitions_the_metric_checks_are_not_applicable(judged):
    with pytest.raises(NotApplicable, match="the declaration lists no MetricDefinitions"):
        judged(context(Declaration(None), good=run(logs=LOGS)))


def test_an_objective_metric_not_among_the_definitions_fails_before_any_run_is_read():
    with pytest.raises(Failed, match=r"objective metric\(s\) validation:auc are not among the MetricDefinitions "
                                     r"\(train:loss, validation:acc\)") as verdict:
        metrics.objective_metrics_emitted(context(declared(objectives=["validation:auc"])))  # no tuning run
    assert verdict.value.reproduce.endswith("-k METRIC-05")
    with pytest.raises(Failed, match=r"are not among the MetricDefinitions \(none\)"):
        metrics.objective_metrics_emitted(context(declared([], objectives=["validation:auc"])))


def test_objective_metrics_are_judged_on_the_tuning_style_run():
    ctx = context(declared(objectives=["validation:acc"]), tuning=run(logs=LOGS))
    assert metrics.objective_metrics_emitted(ctx) == "validation:acc: 2 values, last 0.75 (in the tuning-style run)"
    with pytest.raises(NotApplicable, match="no SupportedTuningJobObjectiveMetrics"):
        metrics.objective_metrics_emitted(context(declared(), tuning=run(logs=LOGS)))
    with pytest.raises(Inconclusive, match="training did not complete .*, so its metrics cannot be judged"):
        metrics.objective_metrics_emitted(context(declared(objectives=["validation:acc"]),
                                                  tuning=run(exit_code=None, start_error="no such image")))


def test_a_metric_written_only_to_a_file_the_regex_does_not_match_says_nothing_more():
    good = run(logs="epoch 1 loss=0.9\n", output_files={"data/notes.txt": b"acc: good", "data/empty": None})
    with pytest.raises(Failed, match=r"validation:acc: no value$"):
        metrics.declared_metrics_emitted(context(declared(), good=good))


def test_the_metric_checks_read_the_runs_they_judge_and_the_declaration_checks_none():
    assert CHECKS["METRIC-01:declared-metrics-emitted"].runs == (TrainingRuns.good,)
    assert CHECKS["METRIC-05:objective-metrics-declared-and-emitted"].runs == (TrainingRuns.tuning,)
    assert CHECKS["METRIC-02:definitions-within-api-limits"].runs == ()


def test_the_command_that_judges_a_declaration_again_quotes_what_a_shell_would_split():
    assert declared().rerun("algo:1", "MKT-03") == "pytest --image algo:1 --byoc-spec '/specs/my algo.json' -k MKT-03"

"""Training metrics (catalogue A.3), judged from the declared MetricDefinitions and the training runs' logs."""

from __future__ import annotations

from .. import metrics
from ..jobs import TrainingRun
from ..registry import Context, check
from ..training import TrainingRuns
from ..verdicts import Failed, Inconclusive, NotApplicable


def _declared(ctx: Context) -> list[dict[str, str]]:
    if not ctx.declaration.metric_definitions:
        raise NotApplicable("the declaration lists no MetricDefinitions")
    return ctx.declaration.metric_definitions


def _completed(run: TrainingRun) -> TrainingRun:
    if run.start_error or run.exit_code != 0:
        raise Inconclusive(f"training did not complete ({run.outcome()}), so its metrics cannot be judged", run=run)
    return run


@check("METRIC-02", "definitions-within-api-limits")
def definitions_within_limits(ctx: Context) -> str:
    definitions = _declared(ctx)
    problems = metrics.limit_problems(definitions)
    if problems:
        raise Failed("; ".join(problems), expected=f"at most {metrics.MAX_DEFINITIONS} MetricDefinitions with unique "
                     "names, each Name 1-255 and Regex 1-500 characters (CreateAlgorithm refuses others)",
                     reproduce=ctx.declaration.rerun(ctx.image, "METRIC-02"))
    return f"{len(definitions)} metric definitions within the API's limits"


@check("METRIC-03", "one-capture-group")
def one_capture_group(ctx: Context) -> str:
    definitions = _declared(ctx)
    problems = metrics.regex_problems(definitions)
    if problems:
        raise Failed("; ".join(problems), expected="each regex compiles and has exactly one capture group, "
                     "around the number only", reproduce=ctx.declaration.rerun(ctx.image, "METRIC-03"))
    return f"{len(definitions)} regexes compile, each with one capture group"


def _where_else(run: TrainingRun, series: metrics.Series) -> str:
    """Files the regex matches in: the usual mistake is writing metrics to a file SageMaker never reads."""
    pattern, _ = metrics.compile_regex(series.regex)
    found = [f"/opt/ml/output/{path}" for path, content in run.output_files.items()
             if pattern and content and pattern.search(content.decode("utf-8", "replace"))]
    return f" (it matches in {', '.join(found)}, but SageMaker reads only stdout and stderr)" if found else ""


def _emitted(definitions: list[dict[str, str]], run: TrainingRun, expected: str) -> str:
    """The series each definition yields from the run's logs; a definition that yields no number fails."""
    series = metrics.extract(definitions, run.log_lines()).values()
    missing = [s for s in series if not s.values]
    if missing:
        raise Failed("; ".join(s.summary() + _where_else(run, s) for s in missing), expected=expected, run=run)
    return "; ".join(s.summary() for s in series)


@check("METRIC-01", "declared-metrics-emitted", runs=(TrainingRuns.good,))
def declared_metrics_emitted(ctx: Context) -> str:
    definitions = _declared(ctx)
    return _emitted(definitions, _completed(ctx.training.good), "each declared metric printed to stdout or stderr "
                    "at least once, its regex capturing a finite number")


@check("METRIC-05", "objective-metrics-declared-and-emitted", runs=(TrainingRuns.tuning,))
def objective_metrics_emitted(ctx: Context) -> str:
    objectives = ctx.declaration.objective_metrics
    if not objectives:
        raise NotApplicable("the declaration lists no SupportedTuningJobObjectiveMetrics")
    declared = {d["Name"]: d for d in ctx.declaration.metric_definitions}
    undeclared = [name for name in objectives if name not in declared]
    expected = "every tuning objective among the MetricDefinitions, and printed by a run given it as " \
               "_tuning_objective_metric"
    if undeclared:
        raise Failed(f"objective metric(s) {', '.join(undeclared)} are not among the MetricDefinitions "
                     f"({', '.join(declared) or 'none'})", expected=expected,
                     reproduce=ctx.declaration.rerun(ctx.image, "METRIC-05"))
    run = _completed(ctx.training.tuning)
    return _emitted([declared[name] for name in objectives], run, expected) + " (in the tuning-style run)"

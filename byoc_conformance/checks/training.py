"""Training requirements (catalogue A.2), judged from real `train` runs of the image."""

from __future__ import annotations

import json
import re

from ..jobs import TrainingRun
from ..metrics import compile_regex
from ..registry import Context, check
from ..training import Effects, TrainingRuns
from ..verdicts import Failed, Inconclusive, NotApplicable

FAILURE_REASON_CHARS = 1024  # DescribeTrainingJob.FailureReason keeps this many characters
# The signalled run must end this much before its twin: at least SIGTERM_MIN_MARGIN seconds and SIGTERM_MARGIN
# of the time the twin still ran after the signal. Both runs share the machine's load, so the margins hold under it.
SIGTERM_MIN_MARGIN = 0.3
SIGTERM_MARGIN = 0.25




def _require_started(run: TrainingRun) -> None:
    if run.start_error:
        raise Inconclusive(run.outcome(), run=run)


def _require_exit_zero(run: TrainingRun, expected: str, observed: str | None = None) -> None:
    _require_started(run)
    if run.exit_code != 0:
        raise Failed(observed or run.outcome(), expected=expected, run=run)


@check("TRAIN-15", "good-input-exits-0", runs=(TrainingRuns.good,))
def good_input_exits_zero(ctx: Context) -> str:
    run = ctx.training.good
    _require_exit_zero(run, "exit code 0: SageMaker marks the job Completed only then")
    return run.outcome()


def _bad_input_exits_nonzero(ctx: Context, run: TrainingRun) -> str:
    _require_bad_input_judgeable(ctx, run)
    if run.exit_code == 0 or run.killed_at_deadline:
        raise Failed(
            run.outcome(),
            expected="a non-zero exit code soon after the bad input is found: SageMaker then marks the job Failed",
            run=run,
        )
    return run.outcome()


def _require_bad_input_judgeable(ctx: Context, run: TrainingRun) -> None:
    """A run on bad input says something only beside a good run that completes: an image that fails on good input
    too (a channel name it does not know, say) fails bad input for that same reason."""
    _require_started(run)
    good = ctx.training.good
    _require_started(good)
    if good.exit_code != 0:
        raise Inconclusive(f"training on good input fails too ({good.outcome()}; see TRAIN-15), so failing on bad "
                           f"input says nothing about the bad input ({run.outcome()})", run=good)


@check("TRAIN-15", "empty-channel-exits-nonzero", runs=(TrainingRuns.good, TrainingRuns.empty_channel))
def empty_channel_exits_nonzero(ctx: Context) -> str:
    return _bad_input_exits_nonzero(ctx, ctx.training.empty_channel)


# A SHOULD: AWS requires a non-zero exit when training fails; whether a non-numeric field fails training is the
# algorithm's to say (XGBoost reads one as a missing value and trains). See TRAIN-15's decision.
@check("TRAIN-15", "corrupt-csv-exits-nonzero", level="SHOULD", runs=(TrainingRuns.good, TrainingRuns.corrupt_csv))
def corrupt_csv_exits_nonzero(ctx: Context) -> str:
    return _bad_input_exits_nonzero(ctx, ctx.training.corrupt_csv)


@check("TRAIN-13", "model-written", runs=(TrainingRuns.good,))
def model_written(ctx: Context) -> str:
    run = ctx.training.good
    _require_started(run)
    if run.exit_code != 0:
        raise Inconclusive(f"training did not complete ({run.outcome()}), so its artifacts cannot be judged", run=run)
    if run.model_files is None:
        raise Inconclusive("/opt/ml/model could not be read from the container", run=run)
    if not run.model_files:
        raise Failed(
            f"/opt/ml/model is empty; {run.outcome()}",
            expected="the model artifacts in /opt/ml/model, which SageMaker packs into model.tar.gz",
            run=run,
        )
    size = sum(content or 0 for content in run.model_files.values())
    names = ", ".join(sorted(run.model_files)[:5]) + (", ..." if len(run.model_files) > 5 else "")
    return f"{len(run.model_files)} file(s), {size} bytes in /opt/ml/model: {names}"


def _failure_file_states_cause(ctx: Context, run: TrainingRun) -> str:
    _require_bad_input_judgeable(ctx, run)
    if run.killed_at_deadline:
        raise Inconclusive(f"{run.outcome()}, so it never reported a failure", run=run)
    if run.exit_code == 0:
        raise NotApplicable("the run exited 0, so SageMaker would not read a failure file (see TRAIN-15)")
    expected = (
        f"/opt/ml/output/failure, UTF-8 text whose first {FAILURE_REASON_CHARS} characters "
        "(what DescribeTrainingJob shows as FailureReason) state the cause"
    )
    if run.failure is None:
        raise Failed(f"no /opt/ml/output/failure; {run.outcome()}", expected=expected, run=run)
    try:
        reason = run.failure.decode("utf-8")[:FAILURE_REASON_CHARS]
    except UnicodeDecodeError as error:
        raise Failed(f"/opt/ml/output/failure is not UTF-8 text ({error})", expected=expected, run=run) from None
    if not reason.strip():
        raise Failed(f"/opt/ml/output/failure is empty ({len(run.failure)} bytes)", expected=expected, run=run)
    cause = cause_line(reason)
    if cause is None:
        raise Failed(
            f"the first {FAILURE_REASON_CHARS} characters of /opt/ml/output/failure hold stack frames, wrapper "
            f"lines and empty fields only, no cause: {reason[:300]!r}",
            expected=expected,
            run=run,
        )
    return f"FailureReason states the cause: {cause[:160]!r}"


# What does not state a cause (TRAIN-16's decision in the catalogue): a traceback's header and indented frames,
# the lines Python prints between chained exceptions, a label or exception name with nothing after its colon
# ("framework error:", "ExecuteUserScriptError: ExecuteUserScriptError:"), a bare exception name, the training
# toolkit's ExitCode / empty ErrorMessage / Command fields, an exit status, and a generic "training failed".
_NOT_A_CAUSE = [re.compile(pattern, re.IGNORECASE) for pattern in (
    r"traceback \(most recent call last\):?",
    r"(during handling of the above exception|the above exception was the direct cause).*",
    r"(?:[\w.<>-]+(?: [\w.<>-]+)?:\s*)+",
    r"[\w.]*(error|exception|exit|interrupt|failure)",
    r"exitcode\s+-?\d+", r"errormessage\s*(\"\"|'')?", r"command\s+\".*\"",
    r"(process |job |training )?(exited|exit status|exit code|return code|returned)( with)?( code| status)?"
    r":?\s*-?\d+\.?",
    r"(an? )?(unknown |unexpected )?(error|exception|failure)( occurred| has occurred)?[.!]?",
    r"(the )?(training( job)?|job|algorithm|script|process) (failed|error|crashed)[.!]?",
)]


# The training toolkit's failure text: the script's captured stderr, from the failing source line on, between
# `ErrorMessage "` and the closing quote (each line after the first indented by one space).
_TOOLKIT_MESSAGE = re.compile(r'ErrorMessage "(.*?)"[ \t]*(?:\n\s*Command |\n?\Z)', re.DOTALL)
_SOURCE_LINE = re.compile(r"(raise|assert|return|sys\.exit|exit)\b.*|File \".*\", line \d+.*")


def cause_line(text: str) -> str | None:
    """The first line of a failure text that states a cause, or None if it holds none. In the toolkit's form only
    its ErrorMessage counts, where a source line (`raise ValueError()`) or a bare exception name is no cause."""
    toolkit = _TOOLKIT_MESSAGE.search(text)
    if toolkit:
        lines = [line.strip() for line in toolkit.group(1).splitlines()]
    else:  # a frame or source line of a traceback is indented
        lines = [line.strip() for line in text.splitlines() if line.strip() and not line[0].isspace()]
    for line in lines:
        if line and not _SOURCE_LINE.fullmatch(line) and \
                not any(pattern.fullmatch(line) for pattern in _NOT_A_CAUSE):
            return line
    return None


@check("TRAIN-16", "empty-channel-failure-file", runs=(TrainingRuns.good, TrainingRuns.empty_channel))
def empty_channel_failure_file(ctx: Context) -> str:
    return _failure_file_states_cause(ctx, ctx.training.empty_channel)


@check("TRAIN-16", "corrupt-csv-failure-file", runs=(TrainingRuns.good, TrainingRuns.corrupt_csv))
def corrupt_csv_failure_file(ctx: Context) -> str:
    return _failure_file_states_cause(ctx, ctx.training.corrupt_csv)


@check("TRAIN-17", "sigterm-stops-training", runs=(TrainingRuns.good, TrainingRuns.signalled))
def sigterm_stops_training(ctx: Context) -> str:
    baseline = ctx.training.good
    _require_started(baseline)
    if baseline.exit_code != 0:
        raise Inconclusive(f"training on good input does not complete ({baseline.outcome()}; see TRAIN-15), so "
                           "there is no run to stop", run=baseline)
    run, twin = ctx.training.signalled
    _require_started(run)
    _require_started(twin)
    expected = ("PID 1 catches SIGTERM (or blocks or waits for it), and `train` then ends sooner than an "
                f"unsignalled twin run of the same input started with it (by max({SIGTERM_MIN_MARGIN} s, "
                f"{SIGTERM_MARGIN:.0%} of the twin's time left)); SageMaker sends SIGKILL 120 s after SIGTERM")
    if run.signal_at is None:
        if _never_took_sigterm(run, run.signal_due):
            raise Failed(f"{_never_took(run, run.signal_due)}; {run.outcome()}", expected=expected, run=run)
        raise Inconclusive(f"{run.outcome()}, before SIGTERM was sent (due {run.signal_due:.1f} s in)", run=run)
    disposition = run.disposition
    seen = f"{disposition.describe()}; " if disposition else "PID 1's signal handling could not be read; "
    if disposition and not disposition.receives:  # decisive, whatever the twin shows or the timing says
        raise Failed(f"{seen}the kernel drops SIGTERM sent to a container's PID 1 that neither handles, blocks nor "
                     f"waits for it (a Python program installs no handler by default); {run.outcome()}",
                     expected=expected, run=run)
    if twin.killed_at_deadline or twin.exit_code != 0:
        raise Inconclusive(f"{seen}the unsignalled twin gives nothing to compare with: {twin.outcome()}", run=twin)
    left = twin.duration - run.signal_at
    margin = max(SIGTERM_MIN_MARGIN, SIGTERM_MARGIN * left)
    ended = "was still running when" if run.killed_at_deadline else f"ended {run.duration:.2f} s in, against"
    waited = f" (due {run.signal_due:.2f} s in, before PID 1 handled it)" \
        if run.signal_due is not None and run.signal_at - run.signal_due > 0.1 else ""
    compared = f"SIGTERM sent {run.signal_at:.2f} s in{waited}; it {ended} the twin's {twin.duration:.2f} s"
    if not run.killed_at_deadline and run.duration <= twin.duration - margin:
        return f"{seen}{compared}: it stopped {run.duration - run.signal_at:.2f} s after the signal " \
               f"(exit code {run.exit_code})"
    if left < 2 * SIGTERM_MIN_MARGIN:
        raise Inconclusive(f"{seen}{compared}: with {left:.2f} s left after the signal, stopping cannot be told "
                           "apart from finishing", run=run)
    raise Failed(f"{seen}{compared}: no sooner done than the twin, so the signal did not stop training",
                 expected=expected, run=run)


def _never_took_sigterm(run: TrainingRun, due: float | None) -> bool:
    """No SIGTERM went out because PID 1 showed, at every reading until past the signal's due moment, that the
    kernel would drop it (the signal waits for a handler while such a PID 1 runs). Whatever the load: readings from
    before the due moment alone may all precede a handler installed a moment into start-up."""
    return bool(run.pid1_readings) and not run.pid1_ever_receives and due is not None \
        and run.pid1_read_until >= due


def _never_took(run: TrainingRun, due: float | None) -> str:
    return (f"PID 1 neither caught, blocked nor waited for SIGTERM in any of {run.pid1_readings} readings over its "
            f"first {run.pid1_read_until:.1f} s (SIGTERM was due {due or 0:.1f} s in, and held back for a handler "
            "that never came): the kernel drops SIGTERM sent to such a PID 1 (a Python program installs no handler "
            "by default)")


@check("TRAIN-17", "sigterm-stops-every-host", runs=(TrainingRuns.distributed, TrainingRuns.signalled_jobs))
def sigterm_stops_every_host(ctx: Context) -> str:
    baseline = ctx.training.distributed
    if any(run.exit_code != 0 for run in baseline.hosts):
        raise Inconclusive(f"the multi-host job does not complete ({_hosts_summary(baseline)}; see TRAIN-10), so "
                           "there is no job to stop", run=baseline)
    job, twin = ctx.training.signalled_jobs
    for run in (*job.hosts, *twin.hosts):
        _require_started(run)
    expected = (f"SageMaker sends SIGTERM to every host of a job it stops: PID 1 on each of the {len(job.hosts)} "
                "hosts catches it (or blocks or waits for it), and the job then ends sooner than an unsignalled "
                f"twin job started with it (by max({SIGTERM_MIN_MARGIN} s, {SIGTERM_MARGIN:.0%} of the twin's "
                "time left))")
    if job.signal_at is None:
        deaf = [run for run in job.hosts if _never_took_sigterm(run, job.signal_due)]
        if deaf:
            raise Failed(f"on {deaf[0].host}: {_never_took(deaf[0], job.signal_due)}; {_hosts_summary(job)}",
                         expected=expected, run=job.on_host(deaf[0]))
        raise Inconclusive(f"the job ended before SIGTERM was due ({_hosts_summary(job)})", run=job)
    deaf = [run for run in job.hosts if run.disposition and not run.disposition.receives]
    if deaf:  # decisive, as on one host
        raise Failed(f"on {', '.join(run.host for run in deaf)}: {deaf[0].disposition.describe()}; the kernel "  # type: ignore[union-attr]
                     f"drops SIGTERM sent to a PID 1 that neither handles, blocks nor waits for it; "
                     f"{_hosts_summary(job)}", expected=expected, run=job.on_host(deaf[0]))
    if any(run.exit_code != 0 for run in twin.hosts):
        raise Inconclusive(f"the unsignalled twin job gives nothing to compare with: {_hosts_summary(twin)}",
                           run=twin)
    twin_end = max(run.duration for run in twin.hosts)
    last = max(job.hosts, key=lambda run: (run.killed_at_deadline, run.duration))
    left = twin_end - job.signal_at
    margin = max(SIGTERM_MIN_MARGIN, SIGTERM_MARGIN * left)
    compared = (f"SIGTERM sent to {len(job.hosts)} hosts {job.signal_at:.2f} s in; "
                + (f"{last.host} was still running when" if last.killed_at_deadline else
                   f"the last host ({last.host}) ended {last.duration:.2f} s in, against")
                + f" the twin job's {twin_end:.2f} s")
    if not last.killed_at_deadline and last.duration <= twin_end - margin:
        return f"{compared}: {_hosts_summary(job)}"
    if left < 2 * SIGTERM_MIN_MARGIN:
        raise Inconclusive(f"{compared}: with {left:.2f} s left after the signal, stopping cannot be told apart "
                           "from finishing", run=job)
    raise Failed(f"{compared}: no sooner done than the twin, so the signal did not stop every host",
                 expected=expected, run=job.on_host(last))


# --- declaration-driven: hyperparameters (TRAIN-04/05) and channels (TRAIN-06) ---------------------------

def _values(run: TrainingRun) -> str:
    return json.dumps(run.training_input.hyperparameters)


def _declared_hyperparameters(ctx: Context) -> None:
    if not ctx.declaration.hyperparameters:
        raise NotApplicable("the declaration lists no SupportedHyperParameters")
    _require_good_training(ctx)


def _require_good_training(ctx: Context) -> None:
    """These runs vary the good input; if that fails already, how they end says nothing new."""
    good = ctx.training.good
    _require_started(good)
    if good.exit_code != 0:
        raise Inconclusive(f"training on good input fails already ({good.outcome()}; see TRAIN-15), so a variation "
                           "of it cannot be judged", run=good)


@check("TRAIN-04", "declared-hyperparameters-accepted",
       runs=(TrainingRuns.good, TrainingRuns.valid_hyperparameter_runs))
def declared_hyperparameters_accepted(ctx: Context) -> str:
    _declared_hyperparameters(ctx)
    runs = ctx.training.valid_hyperparameter_runs
    if not runs:
        raise Inconclusive("no set of declared hyperparameters was drawn, so none was run")
    for run in runs:
        _require_exit_zero(run, "exit code 0 for values within the declared types and ranges, each given as a "
                           "string, as SageMaker writes them",
                           f"with hyperparameters.json {_values(run)}: {run.outcome()}")
    return f"{len(runs)} drawn set(s) trained and exited 0: " + "; ".join(_values(run) for run in runs)


def _rejected(run: TrainingRun) -> bool:
    return run.exit_code not in (0, None) and not run.killed_at_deadline


@check("TRAIN-04", "invalid-hyperparameters-rejected", level="SHOULD",
       runs=(TrainingRuns.good, TrainingRuns.invalid_hyperparameter_runs))
def invalid_hyperparameters_rejected(ctx: Context) -> str:
    _declared_hyperparameters(ctx)
    runs = ctx.training.invalid_hyperparameter_runs
    for probe, run in runs:
        _require_started(run)
        if not _rejected(run):
            raise Failed(f"with {probe.describe()}: {run.outcome()}",
                         expected="a non-zero exit and a failure file: the value is outside what the "
                         "TrainingSpecification declares", run=run)
    untried = ctx.training.untried_probes
    return (f"{len(runs)} invalid set(s) rejected: " + "; ".join(p.describe() for p, _ in runs)
            + (f" ({untried} more left untried: --byoc-hyperparameter-probes)" if untried else ""))


@check("TRAIN-04", "failure-names-hyperparameter", level="SHOULD",
       runs=(TrainingRuns.good, TrainingRuns.invalid_hyperparameter_runs))
def failure_names_hyperparameter(ctx: Context) -> str:
    _declared_hyperparameters(ctx)
    rejected = [(probe, run) for probe, run in ctx.training.invalid_hyperparameter_runs if _rejected(run)]
    if not rejected:
        raise Inconclusive("no invalid hyperparameter set was rejected, so no failure file to read")
    for probe, run in rejected:
        reason = (run.failure or b"").decode("utf-8", "replace")[:FAILURE_REASON_CHARS]
        if probe.name not in reason:
            raise Failed(f"with {probe.describe()}, the FailureReason reads {reason[:200]!r}",
                         expected=f"the first {FAILURE_REASON_CHARS} characters of /opt/ml/output/failure name the "
                         f"hyperparameter ({probe.name})", run=run)
    return f"{len(rejected)} failure file(s) name the hyperparameter"


@check("TRAIN-05", "undeclared-hyperparameters-tolerated", runs=(TrainingRuns.good, TrainingRuns.tuning))
def undeclared_hyperparameters_tolerated(ctx: Context) -> str:
    _require_good_training(ctx)
    run = ctx.training.tuning
    _require_exit_zero(run, "exit code 0: a tuning job adds _tuning_objective_metric, which the image does not "
                       "declare (in script mode, beside the SDK's sagemaker_* entries)",
                       f"with hyperparameters.json {_values(run)}: {run.outcome()}")
    return f"{run.outcome()} with {', '.join(sorted(set(run.training_input.hyperparameters)))}"


def _declared_channels(ctx: Context) -> None:
    if ctx.declaration.training is None:
        raise NotApplicable("no TrainingSpecification was declared (--byoc-spec)")
    _require_good_training(ctx)


@check("TRAIN-06", "optional-channels-omitted", runs=(TrainingRuns.good, TrainingRuns.required_channels_only))
def optional_channels_omitted(ctx: Context) -> str:
    _declared_channels(ctx)
    run = ctx.training.required_channels_only
    _require_exit_zero(run, "exit code 0: the channels declared IsRequired false may be left out, and "
                       "inputdataconfig.json then does not list them")
    return f"{run.outcome()} with {', '.join(run.training_input.channels)} only"


@check("TRAIN-06", "missing-required-channel-rejected", level="SHOULD",
       runs=(TrainingRuns.good, TrainingRuns.missing_channels))
def missing_required_channel_rejected(ctx: Context) -> str:
    _declared_channels(ctx)
    required = [c.name for c in ctx.declaration.channels if c.required]
    if not required:
        raise NotApplicable("no channel is declared IsRequired")
    for name, run in zip(required, ctx.training.missing_channels):
        _require_started(run)
        has_failure = bool((run.failure or b"").strip())
        if not _rejected(run) or not has_failure:
            raise Failed(f"without the {name!r} channel: {run.outcome()}; failure file "
                         f"{'present' if has_failure else 'absent or empty'}",
                         expected="a non-zero exit and a failure file: the channel is declared IsRequired",
                         run=run)
    return f"runs without {', '.join(repr(n) for n in required)} each exited non-zero with a failure file"


@check("TRAIN-23", "tunable-hyperparameters-change-the-model", runs=(TrainingRuns.hyperparameter_effects,))
def tunable_hyperparameters_change_the_model(ctx: Context) -> str:
    _declared_hyperparameters(ctx)
    effects = ctx.training.hyperparameter_effects
    for run in (effects.first, effects.again, *(r for _, r in effects.changed.values())):
        _require_started(run)
        if run.exit_code != 0 or run.model_digest is None:
            raise Inconclusive(f"with hyperparameters.json {_values(run)}: {run.outcome()}, so there is no model "
                               "to compare (TRAIN-04 judges the values)", run=run)
        if not run.model_files:
            raise Inconclusive(f"with hyperparameters.json {_values(run)}: /opt/ml/model was left empty, so there is "
                               "no model to compare (TRAIN-13 judges that)", run=run)
    if not _reproduces(effects.first, effects.again):
        raise Inconclusive("two runs with the same input left different models in /opt/ml/model (a timestamp or an "
                           "unseeded random state?), so a change a hyperparameter makes cannot be told from that",
                           run=effects.again)
    same = [name for name, (_, run) in effects.changed.items() if run.model_digest == effects.first.model_digest]
    if same:
        name = same[0]
        value, run = effects.changed[name]
        raise Failed(
            f"/opt/ml/model came out byte for byte the same with {name}={value!r} as with {_given(effects, name)}"
            + (f" (so did it for {', '.join(same[1:])})" if same[1:] else ""),
            expected="a hyperparameter declared tunable changes what training produces: a tuning job searches it, "
            "and a run that sets it to the far end of its declared range leaves a different model",
            run=run)
    untried = f" ({effects.untried} more left untried: --byoc-hyperparameter-probes)" if effects.untried else ""
    return (f"{len(effects.changed)} tunable hyperparameter(s) each changed the model, against two runs of the good "
            f"input that left the same model: " + ", ".join(f"{name}={value!r}"
                                                            for name, (value, _) in effects.changed.items()) + untried)


def _given(effects: Effects, name: str) -> str:
    return f"{name}={effects.base[name]!r}" if name in effects.base else f"{name} left to the image's default"


# --- multi-host jobs (TRAIN-10, TRAIN-13), for an image that claims SupportsDistributedTraining ---------------

def _hosts_summary(job: TrainingRun) -> str:
    return "; ".join(run.outcome() for run in job.hosts)


def _job_completed(job: TrainingRun, expected: str, about: str = "") -> str:
    """Every host of a multi-host job exited 0 and one at least left a model; returns which hosts wrote it. A host
    the harness stopped because another failed is not the cause: the one that failed is shown."""
    for run in job.hosts:
        _require_started(run)
    failing = next((run for run in job.hosts if run.exit_code != 0 and not run.stopped_with_job), None)
    if failing is not None:
        raise Failed(_hosts_summary(job) + about, expected=expected, run=job.on_host(failing))
    files = {run.host: run.model_files for run in job.hosts}
    if any(found is None for found in files.values()):
        raise Inconclusive("/opt/ml/model could not be read from every host", run=job)
    if not any(files.values()):
        raise Failed(f"every host exited 0, but /opt/ml/model is empty on all of them: {_hosts_summary(job)}",
                     expected=expected, run=job)
    return ", ".join(f"{host} ({len(found)} file(s))" for host, found in files.items() if found)


@check("TRAIN-10", "hosts-train-together", runs=(TrainingRuns.distributed,))
def hosts_train_together(ctx: Context) -> str:
    job = ctx.training.distributed
    expected = (f"every one of the {len(job.hosts)} hosts (each with its own resourceconfig.json: current_host, and "
                "the sorted hosts list) finds its peers by those names and exits 0, and the job leaves a model; "
                "SageMaker fails the whole job when one host fails")
    return f"{_hosts_summary(job)}; the model from {_job_completed(job, expected)}"


@check("TRAIN-13", "model-names-unique-across-hosts", runs=(TrainingRuns.distributed,))
def model_names_unique_across_hosts(ctx: Context) -> str:
    job = ctx.training.distributed
    for run in job.hosts:
        _require_started(run)
    if any(run.exit_code != 0 for run in job.hosts):
        raise Inconclusive(f"the job did not complete ({_hosts_summary(job)}; see TRAIN-10), so its model cannot be "
                           "judged", run=job)
    digests = {run.host: run.model_file_digests for run in job.hosts}
    if any(found is None for found in digests.values()):
        raise Inconclusive("/opt/ml/model could not be read from every host", run=job)
    writers: dict[str, list[str]] = {}
    for host, found in digests.items():
        for name in found or {}:
            writers.setdefault(name, []).append(host)
    if not writers:
        raise Inconclusive("no host wrote to /opt/ml/model (see TRAIN-10)", run=job)
    clashes = {name: hosts for name, hosts in writers.items()
               if len({digests[host][name] for host in hosts}) > 1}  # type: ignore[index]
    if clashes:
        shown = "; ".join(f"{name} on {', '.join(hosts)}" for name, hosts in sorted(clashes.items())[:5])
        raise Failed(
            f"{len(clashes)} file name(s) in /opt/ml/model written with different contents by more than one host: "
            f"{shown}",
            expected="file names in /opt/ml/model unique across hosts (or the same content): SageMaker packs every "
                     "host's /opt/ml/model into one model.tar.gz, where one host's file replaces another's",
            run=job.on_host(job.hosts[1]))
    same = sum(1 for hosts in writers.values() if len(hosts) > 1)
    by_host = ", ".join(f"{host}: {len(found or {})}" for host, found in digests.items())
    return (f"{len(writers)} file name(s) in the job's model ({by_host} file(s))"
            + (f"; {same} written by several hosts with the same content" if same else ""))


# --- how channels are delivered (TRAIN-07, TRAIN-08, TRAIN-09) --------------------------------------------------

def _require_good_model(ctx: Context) -> None:
    """These runs deliver the good input another way; if the good run leaves no model already, a run that leaves
    none says nothing about the way (TRAIN-13 judges it)."""
    _require_good_training(ctx)
    if not ctx.training.good.model_files:
        raise Inconclusive(f"training on good input leaves no model already ({ctx.training.good.outcome()}; see "
                           "TRAIN-13), so a variation of it cannot be judged", run=ctx.training.good)


def _trains(run: TrainingRun, expected: str) -> str:
    """The run exited 0 and left a model; what it did, as evidence."""
    _require_exit_zero(run, expected)
    if run.model_files is None:
        raise Inconclusive("/opt/ml/model could not be read", run=run)
    if not run.model_files:
        raise Failed(f"{run.outcome()}, but /opt/ml/model is empty", expected=expected, run=run)
    return f"{run.outcome()}; the model has {len(run.model_files)} file(s)"


# A count of what was read, as training logs often print it ("read 120 rows", "40 records").
_ROWS_SAID = re.compile(r"\b(\d[\d,]*)\s+(?:training\s+|data\s+)?(rows|records|samples|examples|instances|lines)\b",
                        re.IGNORECASE)


def _rows_said(run: TrainingRun) -> list[str]:
    return [" ".join(found) for line in run.log_lines() for found in _ROWS_SAID.findall(line)]


def _reproduces(good: TrainingRun, twin: TrainingRun) -> bool | None:
    """Whether the image trains the same model twice from the same input (the good run and TRAIN-17's unsignalled
    twin), so that a different model tells different data; None when either left no model to compare."""
    if twin.exit_code != 0 or None in (good.model_digest, twin.model_digest):
        return None
    return good.model_digest == twin.model_digest


def _read_as_good(ctx: Context, run: TrainingRun, expected: str) -> str:
    """A run that delivers the good input's data another way (layout, mode) and leaves a model: for an image that
    trains the same model twice from the same input (the good run and TRAIN-17's unsignalled twin), the same model
    again, or it did not read all of it; exit code and model alone for one that does not (said so)."""
    good = ctx.training.good
    _, twin = ctx.training.signalled
    reproduces = _reproduces(good, twin)
    if reproduces is None or run.model_digest is None:
        return "not compared with the good run's model: no second good run to tell whether the image is " \
               f"deterministic ({twin.outcome()})"
    if not reproduces:
        return "not compared with the good run's model: the image trains a different model from the same input " \
               "(TRAIN-17's unsignalled twin), so only exit code and model are judged"
    if run.model_digest != good.model_digest:
        differing = next(((mine, theirs) for mine, theirs in zip(_rows_said(run), _rows_said(good))
                          if mine != theirs), None)
        said = f" (its log says {differing[0]}, the good run's {differing[1]})" if differing else ""
        raise Failed(f"{run.outcome()} and left a model, but not the one the good run leaves, which the image "
                     f"trains again from the same data{said}: it did not read all of it",
                     expected=f"{expected}; the same model as the good run, from the same data", run=run)
    return "the same model as the good run (which the image reproduces): all the data read"


def _layout(files: dict[str, bytes]) -> str:
    return f"{len(files)} file(s): {', '.join(sorted(files)[:4])}{', ...' if len(files) > 4 else ''}"


@check("TRAIN-09", "pipe-channels-read", runs=(TrainingRuns.good, TrainingRuns.piped, TrainingRuns.signalled))
def pipe_channels_read(ctx: Context) -> str:
    run = ctx.training.piped
    _require_good_model(ctx)
    channels = run.training_input.in_mode("Pipe")
    expected = (f"with {', '.join(map(repr, channels))} in Pipe mode (no channel directory; the data in FIFOs "
                f"{', '.join(f'{c}_0, {c}_1, ...' for c in channels)}), the program reads each epoch's FIFO once, "
                "exits 0 and leaves a model")
    feed = run.feed
    if feed is None:
        raise Inconclusive("the harness has no record of its Pipe feeder", run=run)
    if run.start_error or feed.failed_to_start():
        raise Inconclusive(f"the harness could not feed the Pipe channels ({run.start_error or 'see its log'}); it "
                           f"runs /bin/sh and mkfifo from the image; its log: {feed.log.strip()[-500:]!r}", run=run)
    reads = "; ".join(feed.describe(channel) for channel in channels)
    _require_exit_zero(run, expected, f"{run.outcome()}; {reads}")
    unread = [channel for channel in channels if not feed.opened(channel)]
    if unread:
        raise Failed(f"{run.outcome()}, but it never opened {', '.join(f'{c}_0' for c in unread)}: {reads}",
                     expected=expected, run=run)
    return f"{_trains(run, expected)}; {reads}; {_read_as_good(ctx, run, expected)}"


@check("TRAIN-08", "fastfile-channels-read-only",
       runs=(TrainingRuns.good, TrainingRuns.fastfile, TrainingRuns.signalled))
def fastfile_channels_read_only(ctx: Context) -> str:
    run = ctx.training.fastfile
    _require_good_model(ctx)
    channels = run.training_input.in_mode("FastFile")
    expected = (f"with {', '.join(map(repr, channels))} in FastFile mode (the channel directory at the same path, "
                "mounted read-only), the program trains as in File mode: exit code 0 and a model")
    return (f"{_trains(run, expected)}; "
            + "; ".join(f"{c!r} read-only, {_layout(run.training_input.objects(c))}" for c in channels)
            + f"; {_read_as_good(ctx, run, expected)}")


# A SHOULD: AWS says File mode mirrors the S3 key tree, not that an algorithm must take every layout (TRAIN-07's
# decision); the sharded multi-host check below is the MUST.
@check("TRAIN-07", "nested-key-tree-read", level="SHOULD",
       runs=(TrainingRuns.good, TrainingRuns.key_tree, TrainingRuns.signalled))
def nested_key_tree_read(ctx: Context) -> str:
    run = ctx.training.key_tree
    _require_good_model(ctx)
    channel = ctx.declaration.primary_channel.name
    layout = _layout(run.training_input.objects(channel))
    expected = (f"with the {channel!r} channel's objects in a nested key tree ({layout}, none at the top), the "
                "program finds them in the subdirectories, exits 0 and leaves a model")
    _require_exit_zero(run, expected, f"{run.outcome()}; the channel held {layout}")
    return f"{_trains(run, expected)}; {channel!r} held {layout}; {_read_as_good(ctx, run, expected)}"


@check("TRAIN-07", "sharded-channel-trains", runs=(TrainingRuns.distributed, TrainingRuns.sharded))
def sharded_channel_trains(ctx: Context) -> str:
    baseline = ctx.training.distributed
    if any(run.exit_code != 0 for run in baseline.hosts) or not any(run.model_files for run in baseline.hosts):
        raise Inconclusive(f"the multi-host job with a replicated channel does not complete "
                           f"({_hosts_summary(baseline)}; see TRAIN-10), so a sharded one cannot be judged",
                           run=baseline)
    job = ctx.training.sharded
    channel = ctx.declaration.primary_channel.name
    shards = ", ".join(f"{run.host}: {len(job.training_input.objects(channel, run.host))}" for run in job.hosts)
    expected = (f"with the {channel!r} channel ShardedByS3Key, each host holding a disjoint part of its objects "
                f"({shards} file(s)), every host exits 0 and the job leaves a model: no host may assume it sees the "
                "whole data set")
    about = f"; shards of {channel!r}: {shards} file(s)"
    return f"{_hosts_summary(job)}{about}; the model from {_job_completed(job, expected, about)}"


# --- checkpoints (TRAIN-19), for an image said to resume from them ------------------------------------------------

def _interrupted(ctx: Context) -> tuple[TrainingRun, TrainingRun]:
    interrupted, resumed = ctx.training.resumed
    _require_started(interrupted)
    if interrupted.signal_at is None:
        raise Inconclusive(f"{interrupted.outcome()}: it ended before the harness stopped it, half-way into the "
                           "good run's duration", run=interrupted)
    if interrupted.checkpoint_files is None:
        raise Inconclusive("/opt/ml/checkpoints could not be read after the stop", run=interrupted)
    return interrupted, resumed


def _stop(run: TrainingRun) -> str:
    return f"stopped with SIGTERM {run.signal_at:.1f} s in ({run.outcome()})"


@check("TRAIN-19", "checkpoints-written", level="SHOULD", runs=(TrainingRuns.good, TrainingRuns.resumed))
def checkpoints_written(ctx: Context) -> str:
    interrupted, _ = _interrupted(ctx)
    files = interrupted.checkpoint_files or {}
    if not files:
        raise Failed(f"{_stop(interrupted)}, the run left /opt/ml/checkpoints empty",
                     expected="checkpoints in /opt/ml/checkpoints (checkpointconfig.json's LocalPath) by the time a "
                              "spot interruption stops the run half-way: SageMaker syncs that directory to S3 and "
                              "restores it when the job resumes", run=interrupted)
    return f"{_stop(interrupted)}: /opt/ml/checkpoints held {_layout(files)}"  # type: ignore[arg-type]


@check("TRAIN-19", "training-resumes-from-checkpoints", level="SHOULD", runs=(TrainingRuns.good, TrainingRuns.resumed))
def training_resumes_from_checkpoints(ctx: Context) -> str:
    interrupted, resumed = _interrupted(ctx)
    if not interrupted.checkpoint_files:
        raise Inconclusive(f"{_stop(interrupted)}, the run left no checkpoint to resume from (see checkpoints-written)",
                           run=interrupted)
    pattern = ctx.declaration.checkpoints.resumed if ctx.declaration.checkpoints else None
    definitions = ctx.declaration.metric_definitions
    expected = ("started again on the stopped run's /opt/ml/checkpoints, the run resumes: "
                + (f"a log line matches {pattern.pattern!r}" if pattern else
                   f"it prints fewer lines of the metric {definitions[0]['Name']!r} than a full run" if definitions
                   else "(nothing tells: declare $.byoc-conformance.checkpoints.resumed)")
                + ", and it exits 0 with a model")
    summary = _trains(resumed, expected)
    if pattern is not None:
        line = next((line for line in resumed.log_lines() if pattern.search(line)), None)
        if line is None:
            raise Failed(f"{summary}, but no line of its log matches {pattern.pattern!r}: it started over",
                         expected=expected, run=resumed)
        return f"{summary}; it says {line.strip()[:200]!r}"
    if not definitions:
        raise Inconclusive(f"{summary}; nothing tells whether it resumed: the declaration has no "
                           "$.byoc-conformance.checkpoints.resumed regex and no MetricDefinitions", run=resumed)
    metric, _ = compile_regex(definitions[0]["Regex"])
    if metric is None:
        raise Inconclusive(f"{summary}; the regex of {definitions[0]['Name']!r} does not compile (METRIC-03)",
                           run=resumed)
    full, again = (sum(1 for line in run.log_lines() if metric.search(line)) for run in (ctx.training.good, resumed))
    if not full:
        raise Inconclusive(f"{summary}; the good run printed no line of {definitions[0]['Name']!r} to count",
                           run=resumed)
    if again >= full:
        raise Failed(f"{summary}, but it printed {again} line(s) of {definitions[0]['Name']!r}, a full run {full}: "
                     "it started over", expected=expected, run=resumed)
    return f"{summary}; {again} line(s) of {definitions[0]['Name']!r}, a full run {full}"

"""The training runs the checks share (IMG-01, TRAIN-01..20, SCRIPT-01): the good run and the runs on bad input, in
other input modes, on several hosts, signalled and interrupted, with hyperparameters drawn within the declaration and
probed outside it; each runs once through the plan, with its deadline set from the good run's duration (jobs.py runs
them). And what the image ships under the directories those runs mount over (IMG-07: `Shipped`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import hypothesis
from hypothesis import Phase, given

from . import hyperparameters, opt_ml
from .engine import Engine
from .jobs import MOUNTED, TrainingRun, TrainingRunner
from .outcome import CouldNotRun, Unclaimed
from .payloads import hypothesis_settings
from .plan import Plan, planned, planned_alone, planned_for

if TYPE_CHECKING:
    from .hosting import Hosting
    from .options import RunOptions

SIGNAL_AT = 0.4  # TRAIN-17's SIGTERM is due this far into the good run's duration,
# and goes out at the latest this far if PID 1 has not installed its handler by then but may take it (it blocks
# SIGTERM, or its disposition cannot be read). A PID 1 that shows it would drop SIGTERM is waited for past that, for
# as long as it runs: under load its handler comes later (a framework's Python imports), and a signal sent before it
# would be dropped, a verdict of the machine's pace. Never catching it is judged on the readings instead.
SIGNAL_LATEST = 0.7
STOP_AT = 0.5  # TRAIN-19's interruption comes this far into the good run's duration,
INTERRUPT_GRACE = 10.0  # and SIGKILL at least this many seconds after its SIGTERM (SageMaker allows 120)
OTHER_DATA_SEED = 100  # the second model's data (MME-06): far from the channel indexes the good input uses


@dataclass
class Effects:
    """The runs of TRAIN-23 (see TrainingRuns.hyperparameter_effects)."""

    base: dict[str, str]  # the good run's hyperparameters
    first: TrainingRun  # the good run
    again: TrainingRun  # TRAIN-17's unsignalled twin: the same input
    changed: dict[str, tuple[str, TrainingRun]]  # hyperparameter -> (the value set, the run)
    untried: int = 0


class TrainingRuns:
    """The training runs the checks share: each starts on first use and runs once per session. Every run but
    the hyperparameter ones is given the declaration's required hyperparameters only."""

    def __init__(self, runner: TrainingRunner, options: RunOptions, *, plan: Plan | None = None) -> None:
        self.runner = runner
        self.plan = plan or Plan()
        self.timeout = options.training.timeout
        self.declaration = declaration = options.declaration
        self.seed = options.seed
        self.hyperparameter_examples = options.training.hyperparameter_examples
        self.hyperparameter_probes = options.training.hyperparameter_probes
        self.hosts = options.training.hosts  # of the multi-host job
        # An inference-only image is served the model it was given, never trained.
        self.disabled = (f"--byoc-model {options.model} was given: the image is checked as an inference-only image"
                         if options.model else None)
        self.required_hyperparameters = hyperparameters.required_set(declaration.hyperparameters)

    def _run(self, slug: str, label: str, training_input: opt_ml.TrainingInput, *, bad_input: bool = False,
             read_output: bool = False, probe: bool = False) -> TrainingRun:
        if self.disabled:
            raise Unclaimed(self.disabled)
        if bad_input:
            deadline = self.bad_input_deadline
        elif self._slowdown == 1:
            deadline = self.timeout
        else:  # more than --byoc-train-timeout only if the good run, alone, took so long that sharing could pass it
            deadline = max(self.timeout, 2 * self._slowdown * self.good.duration)
        return self.runner.run(slug, label, training_input, read_output=read_output, probe=probe, deadline=deadline)

    @property
    def _slowdown(self) -> int:
        """How many times slower than alone a run started now may go: 1 for a run alone (planned_alone), else as
        many as there are runs at once."""
        return 1 if self.plan.slots.mode == "alone" else max(1, self.plan.jobs)

    @planned_alone
    def good(self) -> TrainingRun:
        return self._run("good-input", "training run with good input",
                         opt_ml.good_input(self.declaration, self.required_hyperparameters), read_output=True)

    @planned
    def other_data(self) -> TrainingRun:
        """Good input drawn with another seed: a second model, which answers differently from the first (MME-06)."""
        return self._run("other-data", "training run with other good input",
                         opt_ml.good_input(self.declaration, self.required_hyperparameters, seed=OTHER_DATA_SEED))

    @planned_alone
    def distributed(self) -> TrainingRun:
        """A multi-host job with good input, for an image that claims SupportsDistributedTraining."""
        if not self.declaration.distributed:
            raise Unclaimed("the declaration does not claim SupportsDistributedTraining: single host only")
        training_input = dataclasses.replace(opt_ml.good_input(self.declaration, self.required_hyperparameters),
                                             hosts=opt_ml.host_names(self.hosts))
        # Hosts wait for each other (start-up, rendezvous, retried lookups): the bad-input deadline, not longer.
        return self._run("distributed", f"{self.hosts}-host training job with good input", training_input,
                         bad_input=True)

    @planned_alone
    def signalled_jobs(self) -> tuple[TrainingRun, TrainingRun]:
        """TRAIN-17 on every host: two multi-host jobs of good input started together, one sent SIGTERM on every
        host, timed from the duration of the multi-host job of TRAIN-10 (see TrainingRunner.signalled_jobs)."""
        duration = max(run.duration for run in self.distributed.hosts)
        training_input = dataclasses.replace(opt_ml.good_input(self.declaration, self.required_hyperparameters),
                                             hosts=opt_ml.host_names(self.hosts))
        return self.runner.signalled_jobs(training_input, signal_at=SIGNAL_AT * duration,
                                          latest=SIGNAL_LATEST * duration, deadline=self.bad_input_deadline)

    @planned_alone
    def resumed(self) -> tuple[TrainingRun, TrainingRun]:
        """TRAIN-19: a run with a CheckpointConfig stopped half-way into the good run's duration, and the run that
        starts again on its checkpoints (see TrainingRunner.interrupted_and_resumed)."""
        if self.disabled:
            raise Unclaimed(self.disabled)
        if self.declaration.checkpoints is None:
            raise Unclaimed("the image is not said to resume from checkpoints: neither the declaration's "
                                "$.byoc-conformance.checkpoints nor --byoc-checkpoints")
        duration = self.good.duration
        return self.runner.interrupted_and_resumed(
            opt_ml.good_input(self.declaration, self.required_hyperparameters), stop_at=STOP_AT * duration,
            grace=max(INTERRUPT_GRACE, duration), deadline=self.timeout)

    @planned
    def piped(self) -> TrainingRun:
        """Good input with every channel that declares Pipe fed through FIFOs (TRAIN-09)."""
        return self._run_in_mode("Pipe")

    @planned
    def fastfile(self) -> TrainingRun:
        """Good input with every channel that declares FastFile mounted read-only (TRAIN-08)."""
        return self._run_in_mode("FastFile")

    def _run_in_mode(self, mode: str) -> TrainingRun:
        channels = [c.name for c in self.declaration.channels_in(mode)]
        if not channels:
            raise Unclaimed(f"no channel declares {mode} in its SupportedInputModes")
        return self._run(f"{mode.lower()}-mode", f"training run with {', '.join(map(repr, channels))} in {mode} mode",
                         opt_ml.in_mode_input(self.declaration, mode, self.required_hyperparameters))

    @planned
    def key_tree(self) -> TrainingRun:
        """Good input with the primary channel's data in a nested S3 key tree (TRAIN-07)."""
        channel = self._key_tree_channel()
        return self._run("key-tree", f"training run with the {channel!r} channel's files in a nested key tree",
                         opt_ml.key_tree_input(self.declaration, self.required_hyperparameters))

    @planned
    def sharded(self) -> TrainingRun:
        """A multi-host job whose primary channel is ShardedByS3Key: each host gets a disjoint part (TRAIN-07)."""
        if not self.declaration.distributed:
            raise Unclaimed("the declaration does not claim SupportsDistributedTraining: single host only")
        channel = self._key_tree_channel()
        training_input = opt_ml.key_tree_input(self.declaration, self.required_hyperparameters,
                                               hosts=opt_ml.host_names(self.hosts))
        return self._run("sharded", f"{self.hosts}-host training job with the {channel!r} channel ShardedByS3Key",
                         training_input, bad_input=True)  # the deadline of the other multi-host job

    def _key_tree_channel(self) -> str:
        channel = self.declaration.primary_channel
        if channel.usual_mode == "Pipe":
            raise Unclaimed(f"the {channel.name!r} channel is Pipe only: its program sees a stream, not keys")
        return channel.name

    @property
    def bad_input_deadline(self) -> float:
        # Rejecting bad input should take no longer than training on good input does; an image that hangs
        # on it fails after this, not after the full --byoc-train-timeout. Beside other runs, both grow.
        good, slowdown = self.good, self._slowdown
        return min(self.timeout * slowdown, max(60.0, 5 * slowdown * good.duration))

    @planned
    def empty_channel(self) -> TrainingRun:
        channel = self.declaration.primary_channel.name
        return self._run("empty-channel", f"training run with an empty {channel!r} channel",
                         opt_ml.empty_channel_input(self.declaration, self.required_hyperparameters), bad_input=True)

    @planned
    def corrupt_csv(self) -> TrainingRun:
        channel = self.declaration.primary_channel
        if not channel.accepts_csv:
            raise Unclaimed(f"the {channel.name!r} channel does not take text/csv")
        return self._run("corrupt-csv", f"training run with a corrupt CSV file in the {channel.name!r} channel",
                         opt_ml.corrupt_csv_input(self.declaration, self.required_hyperparameters), bad_input=True)

    @planned_alone
    def signalled(self) -> tuple[TrainingRun, TrainingRun]:
        """The SIGTERM run and its unsignalled twin (see TrainingRunner.signalled_with_twin), timed from the good
        run's duration."""
        if self.disabled:
            raise Unclaimed(self.disabled)
        duration = self.good.duration
        return self.runner.signalled_with_twin(
            opt_ml.good_input(self.declaration, self.required_hyperparameters),
            signal_at=SIGNAL_AT * duration, latest=SIGNAL_LATEST * duration, deadline=self.bad_input_deadline,
        )

    @planned
    def tuning(self) -> TrainingRun:
        """As a tuning job runs it: the objective metric named in _tuning_objective_metric, and nothing else added. The
        SDK's sagemaker_* entries belong to script mode, where every run has them (TrainingRunner._new_run): an
        algorithm image such as AWS's XGBoost switches to script mode when it sees sagemaker_program."""
        objective = next(iter(self.declaration.objective_metrics), None) or next(
            (m["Name"] for m in self.declaration.metric_definitions), "validation:error")
        extras = {**self.required_hyperparameters, hyperparameters.TUNING_OBJECTIVE: objective}
        return self._run("tuning", "training run with the hyperparameters a tuning job adds",
                         opt_ml.good_input(self.declaration, extras), read_output=True)

    @planned
    def required_channels_only(self) -> TrainingRun:
        optional = {c.name for c in self.declaration.channels if not c.required}
        if not optional:
            raise Unclaimed("every declared channel is required")
        return self._run("required-channels-only",
                         f"training run without the optional channel(s) {', '.join(sorted(optional))}",
                         opt_ml.without_channels(self.declaration, optional, self.required_hyperparameters))

    @planned
    def missing_channels(self) -> list[TrainingRun]:
        """A run without each required channel, in the declaration's order."""
        return self.plan.each([self._once(
            f"missing-{name}", f"training run without the required channel {name!r}",
            opt_ml.without_channels(self.declaration, {name}, self.required_hyperparameters), bad_input=True)
            for name in (c.name for c in self.declaration.channels if c.required)])

    @planned
    def valid_hyperparameter_runs(self) -> list[TrainingRun]:
        """Runs with every declared hyperparameter set, values drawn by hypothesis within the declaration."""
        specs = self.declaration.hyperparameters
        if self.disabled or not specs:
            raise Unclaimed(self.disabled or "the declaration lists no SupportedHyperParameters")
        drawn: list[dict[str, str]] = []

        @hypothesis_settings(self.hyperparameter_examples, Phase.generate)
        @hypothesis.seed(self.seed)
        @given(hyperparameters.valid_sets(specs))
        def draw(values: dict[str, str]) -> None:
            drawn.append(values)

        draw()  # the sets first, then their runs, which do not depend on each other
        return self.plan.each([self._once(f"hyperparameters-{number}", "training run with declared hyperparameters",
                                          opt_ml.good_input(self.declaration, values))
                               for number, values in enumerate(drawn, 1)])

    def _once(self, slug: str, label: str, training_input: opt_ml.TrainingInput, *,
              bad_input: bool = False) -> Callable[[], TrainingRun]:
        """A run of its own in the plan, for plan.each: one of several that do not depend on each other."""
        return lambda: self.plan.once(("run", slug), lambda: self._run(slug, label, training_input,
                                                                       bad_input=bad_input))

    @planned
    def invalid_hyperparameter_runs(self) -> list[tuple[hyperparameters.Probe, TrainingRun]]:
        found = hyperparameters.probes(self.declaration.hyperparameters)
        if not found:
            raise Unclaimed("no declared hyperparameter has a range, a type or a requirement to break")
        tried = found[: self.hyperparameter_probes]
        return list(zip(tried, self.plan.each([
            self._once(f"invalid-hyperparameter-{number}", f"training run with {probe.describe()}",
                       opt_ml.good_input(self.declaration, probe.apply(self.required_hyperparameters)), bad_input=True)
            for number, probe in enumerate(tried, 1)])))

    @planned
    def environment_probe(self) -> TrainingRun:
        """Good input with every declared hyperparameter at its default, the entry point started through the
        harness's probe, which records the environment the toolkit gives it (SCRIPT-01)."""
        values = {**hyperparameters.defaults(self.declaration.hyperparameters), **self.required_hyperparameters}
        return self._run("environment-probe", "training run of the entry point through the environment probe",
                         opt_ml.good_input(self.declaration, values), probe=True)

    @planned
    def hyperparameter_effects(self) -> Effects:
        """TRAIN-23: the good-input run, its unsignalled twin of TRAIN-17 (the same input run again, so the model
        must come out the same, or no difference can be told from noise), and per tunable hyperparameter a run
        that sets only it, to the valid value farthest from its declared default."""
        if self.disabled:
            raise Unclaimed(self.disabled)
        alternatives = hyperparameters.tunable_alternatives(self.declaration.hyperparameters)
        if not alternatives:
            raise Unclaimed("the declaration has no tunable hyperparameter with a second valid value")
        base = self.required_hyperparameters
        tried = dict(list(alternatives.items())[: self.hyperparameter_probes])
        first = self.good
        if first.exit_code != 0 or not first.model_files:  # nothing to compare with: the check says so
            return Effects(base, first, first, {}, untried=len(alternatives))
        runs = self.plan.each([self._once(f"effect-{number}", f"training run with only {name}={value} set",
                                          opt_ml.good_input(self.declaration, {**base, name: value}))
                               for number, (name, value) in enumerate(tried.items(), 1)])
        _, again = self.signalled
        changed = {name: (value, run) for (name, value), run in zip(tried.items(), runs)}
        return Effects(base, first, again, changed, untried=len(alternatives) - len(tried))

    @property
    def untried_probes(self) -> int:
        return max(0, len(hyperparameters.probes(self.declaration.hyperparameters)) - self.hyperparameter_probes)


@dataclass(frozen=True)
class Shipped:
    """What an image itself holds under directories SageMaker mounts over (IMG-07), read from a container created
    and never started, so that nothing is mounted over them."""

    image: str
    paths: tuple[str, ...]  # the directories read
    files: list[str]  # every regular file under them, as a full path: directory by directory, sorted within each


def _shipped(engine: Engine, image: str, paths: tuple[str, ...]) -> Shipped:
    found = engine.shipped_files(image, paths)
    if found is None:
        raise CouldNotRun(f"the engine did not give the image's files under {', '.join(paths)}")
    return Shipped(image, paths, [f"{path}/{name}" for path, names in found.items() for name in sorted(names)])


@planned_for
def shipped_under_mounts(runs: TrainingRuns) -> Shipped:
    """What the trained image ships under /opt/ml/input, /opt/ml/model and /opt/ml/output, which every training run
    mounts over."""
    if runs.disabled:
        raise Unclaimed(runs.disabled)
    return _shipped(runs.runner.engine, runs.runner.image, MOUNTED)


@planned_for
def shipped_under_model(hosting: Hosting) -> Shipped:
    """What the served image ships under /opt/ml/model, which every serve container mounts over (an inference-only
    image: no training run mounts anything over it)."""
    return _shipped(hosting.engine, hosting.image, ("/opt/ml/model",))

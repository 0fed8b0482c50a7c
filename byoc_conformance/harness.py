"""One conformance run: the engine, the image, the catalogue and the shared container runs, and how a
check's verdict becomes a pytest outcome."""

from __future__ import annotations

import contextlib
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from . import __version__, metrics, model, pipeline, reaper, report, script, writers
from .catalogue import Catalogue, coverage_problems, load_catalogue
from .checks import all_checks
from .engine import CLEANUP_COMMAND, RUN_LABEL, Engine, HarnessError, remove_labelled
from .hosting import Hosting
from .jobs import TrainingRun, TrainingRunner
from .model import Model
from .options import RunOptions
from .plan import Plan
from .registry import Check, Context, RunName, judge, reader, runs_alone
from .report import CheckResult, Report, Status
from .specs import SpecError
from .training import TrainingRuns
from .validation import Validation
from .verdicts import Failed, Verdict, describe, reproduction
from .waivers import Waiver, check_targets


def start(config: pytest.Config) -> Harness:
    """Checks everything the run needs before any container starts; bad input is a pytest.UsageError."""
    engine = None
    try:
        options = RunOptions.from_command_line(vars(config.option), Path.cwd())
        catalogue = load_catalogue()
        problems = coverage_problems(catalogue, (entry.requirement_id for entry in all_checks()))
        if problems:
            raise HarnessError("the catalogue and the checks do not trace to each other:\n  " + "\n  ".join(problems))
        check_targets(options.report.waivers, {entry.test_id for entry in all_checks()})
        engine = Engine.connect(run_id=uuid.uuid4().hex[:8], network=options.network, limits=options.limits,
                                host_address=options.host_address)
        engine.start_reaper()
        engine.watch_deaths()
        given_model = model.from_path(options.model, engine.scratch_file("given-model.tar.gz")) if options.model \
            else None
        attrs = engine.image(options.image).attrs
        inference_attrs = engine.image(options.hosting_image).attrs if options.hosting_image != options.image \
            else attrs
        pipeline_stages = pipeline.stages(engine, list(options.pipeline))
    except (HarnessError, SpecError) as error:
        if engine is not None:
            engine.close()
        raise pytest.UsageError(f"byoc-conformance: {error}") from None
    # The container runs the checks share, and their outcomes; up to --byoc-jobs of them at once.
    plan = Plan(jobs=options.jobs or engine.cpus)
    code, declared = options.code, options.declaration
    training = TrainingRuns(
        TrainingRunner(engine, options.image, command=options.command, code=code, specs=declared.hyperparameters,
                       image_environment=_environment(attrs)),
        options, plan=plan)

    def served_model() -> Model:
        served = Model(given_model) if given_model is not None else trained_model(training, engine)
        if code is None or served.tar_gz is None:
            return served
        # As the SDK deploys a script-mode model: the code travels in model.tar.gz, under code/.
        return Model(script.with_code(served.tar_gz, code, engine.scratch_file("model-with-code.tar.gz")))

    hosting = Hosting(
        engine, options, served_model,
        image_labels=(inference_attrs.get("Config") or {}).get("Labels") or {},
        image_size=inference_attrs.get("Size"),
        environment=code.serving_environment() if code else None,
        other_model=None if (given_model is not None or code is not None)
        else lambda: trained_model(training, engine, training.other_data, "other-model.tar.gz"),
        pipeline=pipeline_stages,
        plan=plan,
    )
    image_platform = f"{attrs.get('Os', '')}/{attrs.get('Architecture', '')}"
    repro_dir = options.report.repro_dir or Path("byoc-repro") / engine.run_id
    # The profile's outputs go to the report bundle, where the seller attaches them (or beside the reproductions).
    validation = Validation(
        training.runner, hosting, profile=options.profile, buckets=options.s3,
        requested=declared.validation is not None, training_timeout=options.training.timeout,
        outputs=(options.report.directory or repro_dir) / "validation", plan=plan)
    context = Context(engine, options.image, attrs.get("Config") or {}, training, hosting, declared,
                      image_platform=image_platform, validation=validation)
    notices = [notice for notice in (clear_leftovers(engine), platform_notice(engine, image_platform)) if notice]
    return Harness(engine, options, attrs, catalogue, repro_dir, context, notices=notices, plan=plan)


def _environment(attrs: dict[str, Any]) -> dict[str, str]:
    """The image's ENV as a mapping."""
    return dict(item.partition("=")[::2] for item in (attrs.get("Config") or {}).get("Env") or [])


def clear_leftovers(engine: Engine) -> str | None:
    """Removes what runs killed on this host left on the engine (their process is gone); names the rest."""
    found = reaper.orphans(engine.client, engine.run_id)
    dead = sorted(run for run, is_dead in found.items() if is_dead)
    for run in dead:
        remove_labelled(engine.client, {"label": f"{RUN_LABEL}={run}"})
    others = sorted(set(found) - set(dead))
    parts = [f"removed what {len(dead)} killed run(s) left on the engine ({', '.join(dead)})"] if dead else []
    if others:
        parts.append(f"objects of {len(others)} other run(s) are on the engine ({', '.join(others)}): running "
                     f"elsewhere, or left behind; to remove every run's: {CLEANUP_COMMAND}")
    return "; ".join(parts) or None


def platform_notice(engine: Engine, image_platform: str) -> str | None:
    if image_platform == engine.platform:
        return None
    return (f"the image is {image_platform} and the engine runs {engine.platform}: its programs run here only "
            "if the engine emulates that platform (IMG-09 says what was observed)")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def trained_model(training: TrainingRuns, engine: Engine, run: TrainingRun | None = None,
                  name: str = "model.tar.gz") -> Model:
    """SageMaker's handover: the good training run's (or `run`'s) /opt/ml/model, packed into model.tar.gz."""
    run = run or training.good
    if run.start_error or run.exit_code != 0 or run.model_archive is None:
        return Model(None, missing=f"training did not complete: {run.outcome()}")
    if not run.model_files:
        return Model(None, missing="training left /opt/ml/model empty")
    return Model(model.pack(run.model_archive, engine.scratch_file(name)))


@dataclass
class Harness:
    """The state of one conformance run, kept in the pytest config's stash."""

    engine: Engine
    options: RunOptions
    image_attrs: dict[str, Any]
    catalogue: Catalogue
    repro_dir: Path
    context: Context
    results: list[CheckResult] = field(default_factory=list)
    started: str = field(default_factory=lambda: _now())
    final_report: Report | None = None
    notices: list[str] = field(default_factory=list)  # for the header: leftovers of other runs, the platform
    bundle: Path | None = None  # report.json of the written bundle
    plan: Plan = field(default_factory=Plan)
    judging: bool = False  # a check is being judged: pytest writes nothing until its verdict

    def run_order(self, checks: list[Check]) -> list[RunName]:
        """The runs of `checks` in the order they are started ahead: those that run alone first, while nothing
        else is under way (each one otherwise waits for every run in progress to end), then in the checks' order."""
        names = list(dict.fromkeys(name for entry in checks for name in entry.runs))
        return sorted(names, key=lambda name: not runs_alone(name, self.context))

    def prefetch(self, checks: list[Check]) -> list[Check]:
        """Starts the runs of `checks` ahead of them, as far as --byoc-jobs allows; returns the checks in the order
        their runs will be ready (with one job at a time, as given)."""
        if self.plan.jobs < 2:
            return checks
        order = self.run_order(checks)
        self.plan.prefetch(reader(name, self.context) for name in order)
        return sorted(checks, key=lambda entry: max((order.index(name) for name in entry.runs), default=-1))

    def stop_runs(self) -> None:
        """The end of the run, however it ends: nothing new starts, and what is on the engine goes (twice: a run
        in progress may have been creating a container while the first sweep passed)."""
        self.engine.closing = True
        self.plan.close(deadline=0)
        self.engine.sweep()
        self.plan.close()
        self.engine.sweep()

    @property
    def image(self) -> str:
        return self.options.image

    def finish(self, interrupted: str | None = None) -> Report:
        """The report of the run, written as a bundle if --byoc-report was given."""
        planned = {entry.test_id: self.level(entry) for entry in self.checks_in_contract_order()}
        attrs, declared = self.image_attrs, self.context.declaration
        image = {
            "reference": self.image, "id": attrs["Id"], "digests": attrs.get("RepoDigests") or [],
            "labels": (attrs.get("Config") or {}).get("Labels") or {}, "os": attrs.get("Os", ""),
            "architecture": attrs.get("Architecture", ""), "size": attrs.get("Size", 0),
        }
        if self.context.hosting.image != self.image:
            image["inference_image"] = self.context.hosting.image
        asked = self.options.report
        self.final_report = report.build(
            self.catalogue, planned, self.results, fail_on=asked.fail_on,
            product={"vendor": asked.vendor, "name": asked.product, "version": asked.product_version},
            image=image,
            harness={"version": __version__, "catalogue_version": self.catalogue.version,
                     "docker_engine": self.engine.version()},
            run={"id": self.engine.run_id, "started": self.started, "ended": _now(),
                 "seed": self.options.seed, "options": dict(self.options.given), "interrupted": interrupted,
                 "limits": {**self.engine.resource_limits.describe(),
                            "network": self.engine.describe_network()}},
            declaration={"source": str(declared.source) if declared.source else None,
                         "summary": declared.summary()},
            metrics=self.metric_series(),
            validation=self.validation_record(),
            waivers=self.waiver_records(),
            baseline=report.compare(str(asked.baseline), asked.baseline_report, self.results)
            if asked.baseline_report is not None else None,
            gate_on=asked.gate_on, strict_waivers=asked.strict_waivers,
        )
        if asked.directory:
            self.bundle = writers.write_bundle(self.final_report, asked.directory)
        return self.final_report

    def metric_series(self) -> list[dict[str, Any]]:
        """The declared metrics as the good training run emitted them, if it ran."""
        run = self.context.training.plan.result(TrainingRuns.good.key)  # if the run has happened
        definitions = self.context.declaration.metric_definitions
        if run is None or not definitions:
            return []
        return [series.as_record() for series in metrics.extract(definitions, run.log_lines()).values()]

    def validation_record(self) -> report.ValidationProfile | None:
        """The validation profile's steps, if it ran: what each did, how long it took and what it wrote."""
        run = self.plan.result(Validation.run.key)
        if run is None:
            return None
        steps: list[report.ProfileStep] = []
        if run.training is not None:
            training = run.training
            outcome = training.run.outcome() + (" (sent SIGTERM at MaxRuntimeInSeconds)" if training.stopped_at_limit
                                                else "")
            steps.append({"step": "training", "job": training.job.name, "outcome": outcome,
                          "seconds": round(training.run.duration, 3),
                          "outputs": [str(training.model)] if training.model else []})
        if run.transform is not None:
            transform = run.transform
            failures = [f"{done.key}: {failure}" for done in transform.objects for failure in done.transform.failures]
            outcome = (transform.server.outcome() if transform.server.healthy_after is None else
                       f"{len(transform.objects)} of {len(transform.job.objects)} input object(s) transformed"
                       + (f"; {'; '.join(failures[:3])}" if failures else ""))
            steps.append({"step": "transform", "job": transform.job.name, "outcome": outcome,
                          "seconds": round(transform.seconds, 3),
                          "outputs": [str(done.output) for done in transform.objects if done.output]})
        return {"profile": run.profile.name, "data": dict(run.profile.data), "steps": steps,
                "not_observable": list(run.profile.no_local_effect)}

    def level(self, entry: Check) -> str:
        return entry.level or self.catalogue[entry.requirement_id].level

    def checks_in_contract_order(self) -> list[Check]:
        order = list(self.catalogue.requirements)
        return sorted(all_checks(), key=lambda entry: order.index(entry.requirement_id))  # stable within an ID

    def evaluate(self, entry: Check, item: pytest.Item) -> None:
        """Runs one check; a requirement not met fails the test, one not judged skips it, never passes."""
        requirement = self.catalogue[entry.requirement_id]
        started = time.monotonic()
        error = None
        self.judging = True  # the terminal is the progress reporter's until the verdict
        try:
            # A check that reads runs may probe a running server: no run that is timed alone goes on meanwhile.
            # (The others only read the image's configuration and the declaration.)
            with self.plan.slots.held("probe", priority=True) if entry.runs else contextlib.nullcontext():
                summary, verdict = judge(entry, self.context), None
        except Verdict as raised:
            summary, verdict = raised.observed, raised
        except Exception as raised:  # a defect of the harness, not a verdict on the image: never hidden
            summary, verdict = f"harness error: {type(raised).__name__}: {raised}", None
            error = "".join(traceback.format_exception(raised))
        finally:
            self.judging = False
        status = Status.ERROR if error else verdict.status if verdict else Status.PASSED
        # A failure a waiver covers is waived, unless the waiver is past its date.
        waiver = self.waiver_for(entry.test_id) if isinstance(verdict, Failed) else None
        waived = waiver is not None and not waiver.expired(self.options.report.today)
        result = CheckResult(entry.test_id, entry.requirement_id, self.level(entry),
                             Status.WAIVED if waived else status, summary, time.monotonic() - started,
                             waiver=waiver.describe() if waiver else None)
        self.results.append(result)
        # JUnit XML properties; record_property would warn under pytest's default xunit2 family.
        item.user_properties += [("status", result.status), ("evidence", summary)]
        if error:
            result.details = (f"{requirement.id} ({result.level}) {requirement.statement}\n  {summary}\n"
                              "  the check could not reach a verdict; please report this with the traceback:\n"
                              + "".join(f"    {line}\n" for line in error.rstrip().splitlines()))
            pytest.fail(result.details, pytrace=False)
        if verdict is None:
            return
        result.reproduce = reproduction(verdict, self.repro_dir, self.engine.host_address)
        result.details = text = describe(verdict, f"{requirement.id} ({result.level}) {requirement.statement}",
                                         result.reproduce)
        if isinstance(verdict, Failed):
            if requirement.usual_fix:  # what users most often change to meet it (the catalogue's usual_fix)
                result.details = text = f"{text}\n  usual fix: {requirement.usual_fix}"
            if waiver is not None and waived:
                # Still reported whole, as waived with its reason: a skip with that reason in pytest and JUnit.
                result.details = text = f"waived: {waiver.describe()} [{waiver.source}]\n{text}"
                pytest.skip(text)
            if waiver is not None:
                result.details = text = f"{text}\n  waiver past its date: {waiver.describe()} [{waiver.source}]"
            pytest.fail(text, pytrace=False)
        pytest.skip(f"{verdict.status}: {text}")

    def waiver_for(self, check: str) -> Waiver | None:
        """The first waiver given for `check`, if any (the declaration's come before --byoc-waive's)."""
        return next((waiver for waiver in self.options.report.waivers if waiver.covers(check)), None)

    def waiver_records(self) -> list[report.WaiverRecord]:
        """What came of each waiver: the failures it waived (or, past its date, let fail), or why it waived none."""
        records: list[report.WaiverRecord] = []
        for waiver in self.options.report.waivers:
            covered = [r for r in self.results if waiver.covers(r.check)]
            mine = [r.check for r in covered if r.status in (Status.WAIVED, Status.FAILED) and r.waiver is not None
                    and self.waiver_for(r.check) is waiver]
            if mine:
                state = "expired" if waiver.expired(self.options.report.today) else "applied"
            else:
                state = "stale" if covered else "not run"
            records.append({"id": waiver.target, "reason": waiver.reason,
                            "until": waiver.until.isoformat() if waiver.until else None, "source": waiver.source,
                            "state": state, "checks": mine})
        return records

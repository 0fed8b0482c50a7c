"""One conformance run: the engine, the image, the catalogue and the shared container runs, and how a
check's verdict becomes a pytest outcome."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from . import __version__, declaration, metrics, model, pipeline, reaper, report, script, writers
from .catalogue import Catalogue, coverage_problems, load_catalogue
from .checks import all_checks
from .engine import CLEANUP_COMMAND, RUN_LABEL, Engine, HarnessError, Limits, remove_labelled
from .hosting import Hosting
from .model import Model
from .plan import Plan
from .registry import Check, Context, RunName, judge, reader, runs_alone
from .report import CheckResult, Report, Status
from .specs import SpecError
from .training import Command, TrainingRun, TrainingRunner, TrainingRuns
from .verdicts import Failed, Verdict, describe, reproduction

MAX_BATCH_INPUT_MB = 1024.0


def check_options(config: pytest.Config) -> None:
    """The options no parser type can judge alone, checked before anything starts."""
    image = config.getoption("image")
    if not image.strip():
        raise HarnessError("--image is empty: name the image to test, e.g. --image myrepo/algo:latest")
    for option in ("byoc_report", "byoc_repro_dir"):
        _check_output_directory(f"--{option.replace('_', '-')}", config.getoption(option))
    batch_mb = config.getoption("byoc_batch_input_mb")
    if batch_mb > MAX_BATCH_INPUT_MB:
        raise HarnessError(f"--byoc-batch-input-mb {batch_mb:g}: at most {MAX_BATCH_INPUT_MB:g} (the input file "
                           "is generated in memory)")


def script_options(config: pytest.Config) -> tuple[script.Script | None, Command]:
    """The user's code and the training command, checked before anything starts (HarnessError otherwise)."""
    entry_point = config.getoption("byoc_entry_point")
    others = [f"--byoc-{name.replace('_', '-')}" for name in ("source_dir", "dependencies", "serving_entry_point")
              if config.getoption(f"byoc_{name}")]
    try:
        if entry_point is None and others:
            raise script.ScriptError(f"{others[0]} needs --byoc-entry-point: name the script to run")
        code = script.Script.from_options(
            entry_point, config.getoption("byoc_source_dir"), config.getoption("byoc_dependencies"),
            config.getoption("byoc_serving_entry_point")) if entry_point is not None else None
        command = Command(script.command_list("--byoc-container-entrypoint",
                                              config.getoption("byoc_container_entrypoint")),
                          script.command_list("--byoc-container-arguments",
                                              config.getoption("byoc_container_arguments")))
    except script.ScriptError as error:
        raise HarnessError(str(error)) from None
    return code, command


def _check_output_directory(option: str, path: Path | None) -> None:
    """A directory the harness will write into: it may not exist yet, but it must be one it can create."""
    if path is None:
        return
    if path.exists() and not path.is_dir():
        raise HarnessError(f"{option} {path}: exists and is not a directory")
    existing = next(parent for parent in (path, *path.parents) if parent.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise HarnessError(f"{option} {path}: {existing} is not a directory the harness can write in")


def start(config: pytest.Config) -> Harness:
    """Checks everything the run needs before any container starts; bad input is a pytest.UsageError."""
    image = config.getoption("image")
    engine = None
    try:
        check_options(config)
        code, command = script_options(config)
        catalogue = load_catalogue()
        problems = coverage_problems(catalogue, (entry.requirement_id for entry in all_checks()))
        if problems:
            raise HarnessError("the catalogue and the checks do not trace to each other:\n  " + "\n  ".join(problems))
        spec_path = declaration.locate(config.getoption("byoc_spec"), Path.cwd())
        declared = declaration.load(spec_path)
        if config.getoption("byoc_checkpoints") and declared.checkpoints is None:
            declared = dataclasses.replace(declared, checkpoints=declaration.Checkpoints())
        if config.getoption("byoc_network_isolation"):
            declared = dataclasses.replace(declared, network_isolation=True)
        if config.getoption("byoc_response_streaming"):
            declared = dataclasses.replace(declared, response_streaming=True)
        if config.getoption("byoc_async"):
            declared = dataclasses.replace(declared, async_inference=True)
        limits = Limits(memory_mb=config.getoption("byoc_memory_mb"), pids=config.getoption("byoc_pids"))
        engine = Engine.connect(run_id=uuid.uuid4().hex[:8], network=config.getoption("byoc_network"), limits=limits,
                                host_address=config.getoption("byoc_host_address"))
        engine.start_reaper()
        engine.watch_deaths()
        model_path = config.getoption("byoc_model")
        given_model = model.from_path(model_path, engine.scratch_file("given-model.tar.gz")) if model_path else None
        attrs = engine.image(image).attrs
        inference_image = config.getoption("byoc_inference_image") or image
        inference_attrs = engine.image(inference_image).attrs if inference_image != image else attrs
        pipeline_stages = pipeline.stages(engine, config.getoption("byoc_pipeline"))
    except (HarnessError, SpecError) as error:
        if engine is not None:
            engine.close()
        raise pytest.UsageError(f"byoc-conformance: {error}") from None
    # The container runs the checks share, and their outcomes; up to --byoc-jobs of them at once.
    plan = Plan(jobs=config.getoption("byoc_jobs") or engine.cpus)
    training = TrainingRuns(
        TrainingRunner(engine, image, command=command, code=code, specs=declared.hyperparameters,
                       image_environment=_environment(attrs)),
        config.getoption("byoc_train_timeout"),
        declared,
        seed=config.getoption("byoc_seed"),
        hyperparameter_examples=config.getoption("byoc_hyperparameter_examples"),
        hyperparameter_probes=config.getoption("byoc_hyperparameter_probes"),
        hosts=config.getoption("byoc_hosts"),
        disabled=f"--byoc-model {model_path} was given: the image is checked as an inference-only image"
        if model_path else None,
        plan=plan,
    )

    def served_model() -> Model:
        served = Model(given_model) if given_model is not None else trained_model(training, engine)
        if code is None or served.tar_gz is None:
            return served
        # As the SDK deploys a script-mode model: the code travels in model.tar.gz, under code/.
        return Model(script.with_code(served.tar_gz, code, engine.scratch_file("model-with-code.tar.gz")))

    hosting = Hosting(
        engine, inference_image, (inference_attrs.get("Config") or {}).get("Labels") or {}, served_model,
        startup_timeout=config.getoption("byoc_startup_timeout"),
        examples=config.getoption("byoc_examples"),
        seed=config.getoption("byoc_seed"),
        batch_input_mb=config.getoption("byoc_batch_input_mb"),
        csv=declared.csv,
        traffic=declared.traffic,
        plan=plan,
        invocation_timeout=config.getoption("byoc_invocation_timeout"),
        environment=code.serving_environment() if code else None,
        other_model=None if (given_model is not None or code is not None)
        else lambda: trained_model(training, engine, training.other_data, "other-model.tar.gz"),
        serverless_mb=config.getoption("byoc_serverless"),
        async_payload_mb=config.getoption("byoc_async_payload_mb"),
        pipeline=pipeline_stages,
    )
    hosting.image_size = inference_attrs.get("Size")
    image_platform = f"{attrs.get('Os', '')}/{attrs.get('Architecture', '')}"
    context = Context(engine, image, attrs.get("Config") or {}, training, hosting, declared,
                      image_platform=image_platform)
    notices = [notice for notice in (clear_leftovers(engine), platform_notice(engine, image_platform)) if notice]
    repro_dir = config.getoption("byoc_repro_dir") or Path("byoc-repro") / engine.run_id
    return Harness(engine, image, attrs, catalogue, repro_dir, context, notices=notices,
                   plan=plan)


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


def _plain(value: Any) -> Any:
    """An option's value as JSON holds it: paths as strings, repeated options as lists."""
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value if isinstance(value, (int, float, bool)) or value is None else str(value)


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
    image: str
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

    def finish(self, config: pytest.Config, interrupted: str | None = None) -> Report:
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
        options = {name: _plain(value) for name, value in vars(config.option).items()
                   if name == "image" or name.startswith("byoc_")}
        self.final_report = report.build(
            self.catalogue, planned, self.results, fail_on=options["byoc_fail_on"],
            product={"vendor": options["byoc_vendor"], "name": options["byoc_product"],
                     "version": options["byoc_product_version"]},
            image=image,
            harness={"version": __version__, "catalogue_version": self.catalogue.version,
                     "docker_engine": self.engine.version()},
            run={"id": self.engine.run_id, "started": self.started, "ended": _now(),
                 "seed": self.context.hosting.seed, "options": options, "interrupted": interrupted,
                 "limits": {**self.engine.resource_limits.describe(),
                            "network": self.engine.describe_network()}},
            declaration={"source": str(declared.source) if declared.source else None,
                         "summary": declared.summary()},
            metrics=self.metric_series(),
        )
        directory = config.getoption("byoc_report")
        if directory:
            self.bundle = writers.write_bundle(self.final_report, directory)
        return self.final_report

    def metric_series(self) -> list[dict[str, Any]]:
        """The declared metrics as the good training run emitted them, if it ran."""
        run = self.context.training.plan.result(TrainingRuns.good.key)  # if the run has happened
        definitions = self.context.declaration.metric_definitions
        if run is None or not definitions:
            return []
        return [series.as_record() for series in metrics.extract(definitions, run.log_lines()).values()]

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
        result = CheckResult(entry.test_id, entry.requirement_id, self.level(entry), status, summary,
                             time.monotonic() - started)
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
            pytest.fail(text, pytrace=False)
        pytest.skip(f"{verdict.status}: {text}")

"""One conformance run: the engine, the image, the catalogue and the shared container runs, and how a
check's verdict becomes a pytest outcome."""

from __future__ import annotations

import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from . import __version__, declaration, metrics, report
from .catalogue import Catalogue, coverage_problems, load_catalogue
from .engine import Engine, HarnessError
from .hosting import Hosting, Model, model_from_path, pack_model
from .plan import Plan
from .registry import Check, Context, all_checks
from .report import CheckResult
from .specs import SpecError
from .training import TrainingRunner, TrainingRuns
from .verdicts import Failed, Verdict, describe, reproduction


def start(config: pytest.Config) -> Harness:
    """Checks everything the run needs before any container starts; bad input is a pytest.UsageError."""
    image = config.getoption("image")
    try:
        catalogue = load_catalogue()
        problems = coverage_problems(catalogue, (entry.requirement_id for entry in all_checks()))
        if problems:
            raise HarnessError("the catalogue and the checks do not trace to each other:\n  " + "\n  ".join(problems))
        spec_path = declaration.locate(config.getoption("byoc_spec"), Path.cwd())
        declared = declaration.load(spec_path)
        model_path = config.getoption("byoc_model")
        given_model = model_from_path(model_path) if model_path else None
        engine = Engine.connect(run_id=uuid.uuid4().hex[:8])
        attrs = engine.image(image).attrs
        inference_image = config.getoption("byoc_inference_image") or image
        inference_attrs = engine.image(inference_image).attrs if inference_image != image else attrs
    except (HarnessError, SpecError) as error:
        raise pytest.UsageError(f"byoc-conformance: {error}") from None
    plan = Plan()  # the container runs the checks share, and their outcomes
    training = TrainingRuns(
        TrainingRunner(engine, image),
        config.getoption("byoc_train_timeout"),
        declared,
        seed=config.getoption("byoc_seed"),
        hyperparameter_examples=config.getoption("byoc_hyperparameter_examples"),
        hyperparameter_probes=config.getoption("byoc_hyperparameter_probes"),
        disabled=f"--byoc-model {model_path} was given: the image is checked as an inference-only image"
        if model_path else None,
        plan=plan,
    )

    def model() -> Model:
        if given_model is not None:
            return Model(given_model)
        return trained_model(training)

    hosting = Hosting(
        engine, inference_image, (inference_attrs.get("Config") or {}).get("Labels") or {}, model,
        startup_timeout=config.getoption("byoc_startup_timeout"),
        examples=config.getoption("byoc_examples"),
        seed=config.getoption("byoc_seed"),
        batch_input_mb=config.getoption("byoc_batch_input_mb"),
        csv=declared.csv,
        speaks_csv=declared.speaks_csv,
        plan=plan,
    )
    context = Context(engine, image, attrs.get("Config") or {}, training, hosting, declared)
    return Harness(engine, image, attrs, catalogue, config.getoption("byoc_repro_dir"), context)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def trained_model(training: TrainingRuns) -> Model:
    """SageMaker's handover: the good training run's /opt/ml/model, packed into model.tar.gz."""
    run = training.good
    if run.start_error or run.exit_code != 0 or run.model_archive is None:
        return Model(None, missing=f"training did not complete: {run.outcome()}")
    if not run.model_files:
        return Model(None, missing="training left /opt/ml/model empty")
    return Model(pack_model(run.model_archive))


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
    final_report: dict[str, Any] | None = None
    bundle: Path | None = None  # report.json of the written bundle

    def finish(self, config: pytest.Config) -> dict[str, Any]:
        """The report of the run, written as a bundle if --byoc-report was given."""
        planned = {entry.test_id: self.level(entry) for entry in all_checks()}
        attrs, declared = self.image_attrs, self.context.declaration
        image = {
            "reference": self.image, "id": attrs["Id"], "digests": attrs.get("RepoDigests") or [],
            "labels": (attrs.get("Config") or {}).get("Labels") or {}, "os": attrs.get("Os", ""),
            "architecture": attrs.get("Architecture", ""), "size": attrs.get("Size", 0),
        }
        if self.context.hosting.image != self.image:
            image["inference_image"] = self.context.hosting.image
        options = {name: value if isinstance(value, (int, float, bool)) or value is None else str(value)
                   for name, value in vars(config.option).items() if name == "image" or name.startswith("byoc_")}
        self.final_report = report.build(self.catalogue, planned, self.results, fail_on=options["byoc_fail_on"],
                                         metadata={
            "product": {"vendor": options["byoc_vendor"], "name": options["byoc_product"],
                        "version": options["byoc_product_version"]},
            "image": image,
            "harness": {"version": __version__, "catalogue_version": self.catalogue.version,
                        "docker_engine": self.engine.version()},
            "run": {"id": self.engine.run_id, "started": self.started, "ended": _now(),
                    "seed": self.context.hosting.seed, "options": options},
            "declaration": {"source": str(declared.source) if declared.source else None,
                            "summary": declared.summary()},
            "metrics": self.metric_series(),
        })
        directory = config.getoption("byoc_report")
        if directory:
            self.bundle = report.write_bundle(self.final_report, directory)
        return self.final_report

    def metric_series(self) -> list[dict[str, Any]]:
        """The declared metrics as the good training run emitted them, if it ran."""
        run = self.context.training.plan.result(("TrainingRuns", "good"))  # if the run has happened
        definitions = self.context.declaration.metric_definitions
        if run is None or not definitions:
            return []
        return [series.as_record() for series in metrics.extract(definitions, run.logs).values()]

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
        try:
            summary, verdict = entry.func(self.context), None
        except Verdict as raised:
            summary, verdict = raised.observed, raised
        except Exception as raised:  # a defect of the harness, not a verdict on the image: never hidden
            summary, verdict = f"harness error: {type(raised).__name__}: {raised}", None
            error = "".join(traceback.format_exception(raised))
        status = "error" if error else verdict.status if verdict else "passed"
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
        result.reproduce = reproduction(verdict, self.repro_dir)
        result.details = text = describe(verdict, f"{requirement.id} ({result.level}) {requirement.statement}",
                                         result.reproduce)
        if isinstance(verdict, Failed):
            pytest.fail(text, pytrace=False)
        pytest.skip(f"{verdict.status}: {text}")

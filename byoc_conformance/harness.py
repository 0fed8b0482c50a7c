"""One conformance run: the engine, the image, the catalogue and the shared container runs, and how a
check's verdict becomes a pytest outcome."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .catalogue import Catalogue, coverage_problems, load_catalogue
from .engine import Engine, HarnessError
from .registry import Check, Context, all_checks
from .specs import SpecError
from .training import TrainingRunner, TrainingRuns
from .verdicts import Failed, Verdict, describe


def start(image: str, train_timeout: float, repro_dir: Path) -> Harness:
    """Checks everything the run needs before any container starts; bad input is a pytest.UsageError."""
    try:
        catalogue = load_catalogue()
        problems = coverage_problems(catalogue, (entry.requirement_id for entry in all_checks()))
        if problems:
            raise HarnessError("the catalogue and the checks do not trace to each other:\n  " + "\n  ".join(problems))
        engine = Engine.connect(run_id=uuid.uuid4().hex[:8])
        attrs = engine.image(image).attrs
    except (HarnessError, SpecError) as error:
        raise pytest.UsageError(f"byoc-conformance: {error}") from None
    training = TrainingRuns(TrainingRunner(engine, image), train_timeout)
    context = Context(engine, image, attrs.get("Config") or {}, training)
    return Harness(engine, image, attrs, catalogue, repro_dir, context)


@dataclass
class Harness:
    """The state of one conformance run, kept in the pytest config's stash."""

    engine: Engine
    image: str
    image_attrs: dict[str, Any]
    catalogue: Catalogue
    repro_dir: Path
    context: Context
    results: list[tuple[Check, str, str]] = field(default_factory=list)  # check, status, summary

    def evaluate(self, entry: Check, item: pytest.Item) -> None:
        """Runs one check; a requirement not met fails the test, one not judged skips it, never passes."""
        requirement = self.catalogue[entry.requirement_id]
        try:
            summary, verdict = entry.func(self.context), None
        except Verdict as raised:
            summary, verdict = raised.observed, raised
        status = verdict.status if verdict else "passed"
        self.results.append((entry, status, summary))
        # JUnit XML properties; record_property would warn under pytest's default xunit2 family.
        item.user_properties += [("status", status), ("evidence", summary)]
        if verdict is None:
            return
        text = describe(verdict, f"{requirement.id} ({requirement.level}) {requirement.statement}", self.repro_dir)
        if isinstance(verdict, Failed):
            pytest.fail(text, pytrace=False)
        pytest.skip(f"{verdict.status}: {text}")

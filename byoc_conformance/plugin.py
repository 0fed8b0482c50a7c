"""pytest plugin: `pytest --image IMAGE` runs the SageMaker BYOC conformance suite against IMAGE.

Without --image it does nothing: no fixtures are used, nothing is collected, no container starts."""

from __future__ import annotations

import argparse
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from . import __version__
from .catalogue import Catalogue, coverage_problems, load_catalogue
from .engine import Engine, HarnessError
from .registry import Check, Context, all_checks
from .specs import SpecError
from .training import TrainingRunner, TrainingRuns
from .verdicts import Failed, Verdict, describe

SUITE = Path(__file__).with_name("suite.py")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 86400 * 28:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("byoc", "SageMaker BYOC conformance (byoc-conformance)")
    group.addoption("--image", metavar="IMAGE", help="run the SageMaker container conformance suite against IMAGE")
    group.addoption(
        "--byoc-train-timeout", type=_seconds, default=600.0, metavar="SECONDS",
        help="deadline for one training run on good input (default: 600); bad-input runs get "
        "min(this, max(60, 5 x the good run's duration))",
    )
    group.addoption(
        "--byoc-repro-dir", type=Path, default=Path("byoc-repro"), metavar="DIR",
        help="where the inputs of failing runs are saved for the reproduce commands (default: ./byoc-repro)",
    )


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


HARNESS = pytest.StashKey[Harness]()
PREVIOUS_SIGTERM_HANDLER = pytest.StashKey[Any]()


def pytest_configure(config: pytest.Config) -> None:
    image = config.getoption("image")
    if not image:
        return
    try:
        catalogue = load_catalogue()
        problems = coverage_problems(catalogue, (entry.requirement_id for entry in all_checks()))
        if problems:
            raise HarnessError("the catalogue and the checks do not trace to each other:\n  " + "\n  ".join(problems))
        engine = Engine.connect(run_id=uuid.uuid4().hex[:8])
        attrs = engine.image(image).attrs
    except (HarnessError, SpecError) as error:
        raise pytest.UsageError(f"byoc-conformance: {error}") from None
    timeout = config.getoption("byoc_train_timeout")
    context = Context(engine, image, attrs.get("Config") or {}, TrainingRuns(TrainingRunner(engine, image), timeout))
    config.stash[HARNESS] = Harness(engine, image, attrs, catalogue, config.getoption("byoc_repro_dir"), context)
    # The built-in suite is what runs; with no paths given, the user's directory is not collected.
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args[:] = []
    config.args.append(str(SUITE))
    # A CI runner cancels with SIGTERM: unwind as for Ctrl-C, so that the run's containers are removed.
    config.stash[PREVIOUS_SIGTERM_HANDLER] = signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def pytest_unconfigure(config: pytest.Config) -> None:
    if PREVIOUS_SIGTERM_HANDLER in config.stash:
        signal.signal(signal.SIGTERM, config.stash[PREVIOUS_SIGTERM_HANDLER])


def pytest_report_header(config: pytest.Config) -> list[str]:
    harness = config.stash.get(HARNESS, None)
    if harness is None:
        return []
    attrs = harness.image_attrs
    return [
        f"byoc-conformance {__version__}: catalogue {harness.catalogue.version}, "
        f"Docker engine {harness.engine.version()}, run {harness.engine.run_id}",
        f"image: {harness.image} ({attrs['Id'][:19]}, {attrs.get('Os')}/{attrs.get('Architecture')}, "
        f"{attrs.get('Size', 0) / 1e6:.0f} MB)",
    ]


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    # The suite lives in the installed package, outside the user's rootdir: give it a short node ID.
    if module_path == SUITE and HARNESS in parent.config.stash:
        return pytest.Module.from_parent(parent, path=module_path, nodeid="byoc-conformance")
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "byoc_check" in metafunc.fixturenames:
        checks = all_checks()
        metafunc.parametrize("byoc_check", checks, ids=[entry.test_id for entry in checks])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    harness = config.stash.get(HARNESS, None)
    if harness is None:
        return
    for item in items:
        callspec = getattr(item, "callspec", None)
        entry = callspec.params.get("byoc_check") if callspec else None
        if isinstance(entry, Check):
            requirement = harness.catalogue[entry.requirement_id]
            item.user_properties += [("requirement", requirement.id), ("level", requirement.level)]


@pytest.fixture(scope="session")
def byoc_harness(pytestconfig: pytest.Config) -> Iterator[Harness]:
    harness = pytestconfig.stash.get(HARNESS, None)
    if harness is None:
        pytest.skip("byoc-conformance runs only with --image")
    yield harness


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    harness = config.stash.get(HARNESS, None)
    if harness is None or not harness.results:
        return
    terminalreporter.section("SageMaker BYOC conformance")
    for entry, status, summary in harness.results:
        level = harness.catalogue[entry.requirement_id].level
        terminalreporter.write_line(f"{status:<15} {entry.test_id} ({level}): {summary}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    harness = session.config.stash.get(HARNESS, None)
    if harness is not None:
        harness.engine.sweep()

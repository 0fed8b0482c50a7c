"""Checks: plain functions, each bound to one requirement ID of the catalogue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .declaration import DEFAULTS, Declaration
from .engine import Engine
from .hosting import Hosting
from .outcome import CouldNotRun, Unclaimed
from .plan import planned
from .training import TrainingRuns
from .validation import Validation
from .verdicts import Inconclusive, NotApplicable


@dataclass
class Context:
    """What every check gets: the engine, the image under test and the container runs they share."""

    engine: Engine
    image: str
    image_config: dict[str, Any]  # the image's Config, as `docker image inspect` shows it
    training: TrainingRuns
    hosting: Hosting
    declaration: Declaration = DEFAULTS  # the vendor's CreateAlgorithm declaration, or the defaults
    image_platform: str = "linux/amd64"  # as the image's configuration says, os/architecture
    validation: Validation | None = None  # the request's validation profile (MKT-02)


# A check returns a one-line summary of its evidence when the requirement is met; otherwise it raises
# one of the verdicts in byoc_conformance.verdicts.
CheckFunction = Callable[[Context], str]
# A run a check reads: a planned attribute of the training runs or the hosting (TrainingRuns.good, Hosting.shared), or
# a function of the context that reads runs (on_hosting).
RunName = planned | Callable[[Context], object]


@dataclass(frozen=True)
class Check:
    requirement_id: str
    name: str
    func: CheckFunction
    level: str | None = None  # a SHOULD-level part of a MUST requirement; None: the catalogue's level
    runs: tuple[RunName, ...] = ()  # the planned runs it reads, started ahead of it when runs go concurrently

    @property
    def test_id(self) -> str:
        return f"{self.requirement_id}:{self.name}"


CHECKS: dict[str, Check] = {}


def check(requirement_id: str, name: str, level: str | None = None, *,
          runs: tuple[RunName, ...] = ()) -> Callable[[CheckFunction], CheckFunction]:
    def register(func: CheckFunction) -> CheckFunction:
        entry = Check(requirement_id, name, func, level, runs)
        if entry.test_id in CHECKS:
            raise ValueError(f"two checks are registered as {entry.test_id}")
        CHECKS[entry.test_id] = entry
        return func

    return register


def reader(name: RunName, context: Context) -> Callable[[], object]:
    """What reads the run `name` of a check on `context` (and so starts it, once)."""
    if isinstance(name, planned):
        owner = _owner(name, context)
        return lambda: getattr(owner, name.name)
    return lambda: name(context)


def _owner(run: planned, context: Context) -> object:
    """The context's training runs, hosting or validation profile, whichever `run` is a planned attribute of."""
    return next(owner for owner in (context.training, context.hosting, context.validation)
                if isinstance(owner, run.owner))


def runs_alone(name: RunName, context: Context) -> bool:
    """Whether the run `name` is one that runs with nothing beside it (plan.planned_alone)."""
    return isinstance(name, planned) and name.alone


def on_hosting(run: Callable[[Hosting], object]) -> Callable[[Context], object]:
    """A run of the hosting (a plan.planned_for function of it), as a check names it in `runs`."""
    return lambda context: run(context.hosting)


def judge(entry: Check, context: Context) -> str:
    """The check's summary, or its verdict raised. A run it reads that did not happen is judged here unless the check
    judged it first: one the image does not claim is not applicable, one that gave nothing to read inconclusive."""
    try:
        return entry.func(context)
    except Unclaimed as why:
        raise NotApplicable(why.observed, run=why.run) from None
    except CouldNotRun as why:
        raise Inconclusive(why.observed, run=why.run) from None

"""How a check says a requirement was not met, or could not be judged, and how that reads to the user."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class Evidence(Protocol):
    """A container run a verdict was drawn from: its logs, and how to repeat it by hand."""

    label: str
    logs: str

    def reproduce(self, repro_dir: Path) -> str: ...


class Verdict(Exception):
    status = ""

    def __init__(
        self,
        observed: str,
        *,
        expected: str | None = None,
        run: Evidence | None = None,
        reproduce: str | None = None,
    ) -> None:
        super().__init__(observed)
        self.observed = observed
        self.expected = expected
        self.run = run
        self.reproduce = reproduce


class Failed(Verdict):
    status = "failed"


class Inconclusive(Verdict):
    """The check ran but could not observe what it needed: never a pass."""

    status = "inconclusive"


class NotApplicable(Verdict):
    status = "not applicable"


LOG_TAIL_LINES = 20


def describe(verdict: Verdict, heading: str, repro_dir: Path) -> str:
    lines = [heading]
    if verdict.expected:
        lines.append(f"  expected: {verdict.expected}")
    lines.append(f"  observed: {verdict.observed}")
    reproduce = verdict.reproduce
    if verdict.run is not None:
        tail = verdict.run.logs.rstrip("\n").splitlines()[-LOG_TAIL_LINES:]
        if tail:
            lines.append(f"  last {len(tail)} log lines of the {verdict.run.label}:")
            lines += [f"    | {line}" for line in tail]
        else:
            lines.append(f"  the {verdict.run.label} printed nothing")
        reproduce = reproduce or verdict.run.reproduce(repro_dir)
    if reproduce:
        lines.append("  reproduce:")
        lines += [f"    {line}" for line in reproduce.splitlines()]
    return "\n".join(lines)

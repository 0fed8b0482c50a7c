"""The summary pytest prints at the end of a run: every check's status in the catalogue's order, the warnings,
where the bundle is, and the verdict and gate line."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ..report import Report, Verdict

TITLE = "SageMaker BYOC conformance"
VERDICT_COLOURS = {Verdict.CONFORMANT: "green", Verdict.NOT_CONFORMANT: "red", Verdict.INCONCLUSIVE: "yellow"}


class Terminal(Protocol):
    """What of pytest's terminal reporter the summary writes with."""

    def section(self, title: str, sep: str = ..., **markup: bool) -> None: ...

    def write_line(self, line: str, **markup: bool) -> None: ...


def lines(report: Report, bundle: Path | None = None) -> list[tuple[str, dict[str, bool]]]:
    """The summary's lines, each with its markup (pytest's colour names), under the section TITLE; `bundle` is the
    path of the written report.json, if one was written."""
    found: list[tuple[str, dict[str, bool]]] = [
        (f"{result.status:<15} {result.check} ({result.level}): {result.summary}", {}) for result in report.results]
    found += [(f"warning (SHOULD): {warning}", {"yellow": True}) for warning in report.warnings]
    if bundle:
        found.append((f"report: {bundle}", {}))
    if report.interrupted:
        found.append((f"interrupted: {report.interrupted}", {"yellow": True}))
    counts = ", ".join(f"{n} {s}" for s, n in report.counts.items())
    found.append((f"verdict: {report.verdict} ({counts}); gate --byoc-fail-on {report.fail_on}: {report.gate}",
                  {VERDICT_COLOURS[report.verdict]: True, "bold": True}))
    return found


def write(terminal: Terminal, report: Report, bundle: Path | None = None) -> None:
    """Writes the summary on pytest's terminal reporter."""
    terminal.section(TITLE)
    for line, markup in lines(report, bundle):
        terminal.write_line(line, **markup)

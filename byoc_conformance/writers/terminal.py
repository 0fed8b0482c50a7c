"""The summary pytest prints at the end of a run: the verdict and gate line, the failures that decide the gate, the
inconclusive MUSTs, the waivers and the baseline comparison; then every check's status in the catalogue's order, the
warnings, where the bundle is, and the verdict and gate line again. And the GitHub Actions annotations."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ..report import Baseline, GateOn, Report, Status, Verdict

TITLE = "SageMaker BYOC conformance"
VERDICT_COLOURS = {Verdict.CONFORMANT: "green", Verdict.NOT_CONFORMANT: "red", Verdict.INCONCLUSIVE: "yellow"}


class Terminal(Protocol):
    """What of pytest's terminal reporter the summary writes with."""

    def section(self, title: str, sep: str = ..., **markup: bool) -> None: ...

    def write_line(self, line: str, **markup: bool) -> None: ...


def verdict_line(report: Report) -> tuple[str, dict[str, bool]]:
    counts = ", ".join(f"{n} {s}" for s, n in report.counts.items())
    gate = f"gate --byoc-gate new-failures: {report.gate}" if report.gate_on is GateOn.NEW_FAILURES else \
        f"gate --byoc-fail-on {report.fail_on}: {report.gate}"
    return (f"verdict: {report.verdict} ({counts}); {gate}",
            {VERDICT_COLOURS[report.verdict]: True, "bold": True})


def opening(report: Report) -> list[tuple[str, dict[str, bool]]]:
    """What the reports open with, after the verdict: the failures that decide the gate, one line each, the
    inconclusive MUSTs that keep the run from CONFORMANT, the waivers and the comparison with a baseline."""
    found: list[tuple[str, dict[str, bool]]] = []
    what = "new failure (passed in the baseline)" if report.gate_on is GateOn.NEW_FAILURES else "decides the gate"
    found += [(f"{what}: {result.headline()}", {"red": True}) for result in report.deciding]
    found += [(f"keeps it from CONFORMANT (inconclusive): {result.headline()}", {"yellow": True})
              for result in report.unobserved]
    found += [(f"waiver {line}", {"yellow": True} if "stale" in line or "expired" in line else {})
              for line in waiver_lines(report)]
    if report.baseline is not None:
        found.append((baseline_line(report.baseline), {}))
    return found


def waiver_lines(report: Report) -> list[str]:
    lines = []
    for waiver in report.waivers:
        until = f", until {waiver['until']}" if waiver["until"] else ""
        checks = f": {', '.join(waiver['checks'])}" if waiver["checks"] else ""
        strict = " (fails the gate: --byoc-strict-waivers)" if waiver["state"] == "stale" and report.strict_waivers \
            else ""
        lines.append(f"{waiver['state']}{strict} {waiver['id']} ({waiver['reason']}{until}; {waiver['source']})"
                     f"{checks}")
    return lines


def baseline_line(baseline: Baseline) -> str:
    return (f"against the baseline {baseline['source']} ({baseline['image']}): {len(baseline['new_failures'])} new "
            f"failure(s), {len(baseline['fixed'])} fixed, {len(baseline['changed'])} status change(s), "
            f"{len(baseline['new_checks'])} new check(s)"
            + "".join(f"; {change['check']}: {change['before'] or 'new'} -> {change['after'] or 'not run'}"
                      for change in baseline["changed"][:20])
            + (" ..." if len(baseline["changed"]) > 20 else ""))


def lines(report: Report, bundle: Path | None = None) -> list[tuple[str, dict[str, bool]]]:
    """The summary's lines, each with its markup (pytest's colour names), under the section TITLE: the verdict and
    what decides it first, then every check's status in the planned order, the warnings, where the bundle is, and the
    verdict again (the last line a CI log shows); `bundle` is the path of the written report.json, if one was."""
    found = [verdict_line(report), *opening(report)]
    found += [(f"{result.status:<15} {result.check} ({result.level}): {result.summary}"
               + (f" [waived: {result.waiver}]" if result.status is Status.WAIVED else ""), {})
              for result in report.results]
    found += [(f"warning (SHOULD): {warning}", {"yellow": True}) for warning in report.listed_warnings]
    if bundle:
        found.append((f"report: {bundle}", {}))
    if report.interrupted:
        found.append((f"interrupted: {report.interrupted}", {"yellow": True}))
    found.append(verdict_line(report))
    return found


def annotations(report: Report) -> list[str]:
    """GitHub Actions workflow commands: an error per failure that decides the gate, a warning per inconclusive
    MUST (shown on the run's summary page and the pull request)."""
    def escaped(text: str) -> str:  # a command's message, as the workflow command syntax asks
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def property_value(text: str) -> str:  # a property (title=...) also escapes the separators ':' and ','
        return escaped(text).replace(":", "%3A").replace(",", "%2C")

    found = [f"::error title={property_value(f'{r.check} ({r.level})')}::{escaped(r.headline())}"
             for r in report.deciding]
    found += [f"::warning title={property_value(f'{r.check} ({r.level}) inconclusive')}::{escaped(r.headline())}"
              for r in report.unobserved]
    return found


def write(terminal: Terminal, report: Report, bundle: Path | None = None) -> None:
    """Writes the summary on pytest's terminal reporter."""
    terminal.section(TITLE)
    for line, markup in lines(report, bundle):
        terminal.write_line(line, **markup)

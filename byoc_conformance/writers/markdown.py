"""summary.md, for a CI job's summary page: the verdict and the gate, then the failures that decide the gate, the
inconclusive MUSTs, the waivers, the baseline comparison and the warnings, then the counts."""

from __future__ import annotations

from ..report import GateOn, MetricSeries, Report, Status, ValidationProfile, Verdict
from .terminal import baseline_line, waiver_lines

VERDICT_MARKS = {Verdict.CONFORMANT: "✅", Verdict.NOT_CONFORMANT: "❌", Verdict.INCONCLUSIVE: "⚠️"}


def render(report: Report, digest: str) -> str:
    """summary.md, which names report.json by its SHA-256 (`digest`): the verdict, then what decides the gate."""
    image, counts = report.image, report.counts
    gate = "`--byoc-gate new-failures`" if report.gate_on is GateOn.NEW_FAILURES else \
        f"`--byoc-fail-on {report.fail_on}`"
    waived = f", {len(report.waivers)} waiver(s)" if report.waivers else ""
    lines = [
        f"## SageMaker BYOC conformance: {report.verdict} {VERDICT_MARKS[report.verdict]}",
        "",
        f"Image `{image['reference']}` (`{image['id'][:19]}`), byoc-conformance {report.harness['version']}, "
        f"catalogue {report.harness['catalogue_version']}. Gate ({gate}): **{report.gate}**{waived}.",
        *(["", f"**Interrupted:** {report.interrupted}; what it did not reach is not checked."]
          if report.interrupted else []),
    ]
    title = "New failures (passed in the baseline)" if report.gate_on is GateOn.NEW_FAILURES else \
        "Decides the gate"
    if report.deciding:
        lines += ["", f"**{title}:**", *(f"- {result.headline()}" for result in report.deciding)]
    if report.unobserved:
        lines += ["", "**Keeps it from CONFORMANT (inconclusive MUST):**",
                  *(f"- {result.headline()}" for result in report.unobserved)]
    if report.waivers:
        lines += ["", f"**Waivers ({len(report.waivers)}):**", *(f"- {line}" for line in waiver_lines(report))]
    if report.baseline is not None:
        lines += ["", f"**Baseline:** {baseline_line(report.baseline)}"]
    if report.listed_warnings:
        lines += ["", "**Warnings (SHOULD):**", *(f"- {warning}" for warning in report.listed_warnings)]
    lines += [
        "",
        "| " + " | ".join(Status) + " |",
        "|" + "---:|" * len(Status),
        "| " + " | ".join(str(counts[status]) for status in Status) + " |",
    ]
    waived = [r for r in report.results if r.status is Status.WAIVED]
    if waived:
        lines += ["", "**Waived:**", *(f"- {r.headline()} [waived: {r.waiver}]" for r in waived)]
    if report.metrics:
        lines += ["", f"**Training metrics (declared, as emitted):** {metrics_line(report.metrics)}"]
    if report.validation:
        lines += ["", *profile_lines(report.validation)]
    lines += ["", f"report.json SHA-256: `{digest}`", ""]
    return "\n".join(lines)


def profile_lines(profile: ValidationProfile) -> list[str]:
    """The validation profile's run: each step, its outcome, its duration and the files it wrote."""
    lines = [f"## Validation profile `{profile['profile']}`", "",
             "Data: " + ", ".join(f"`{uri}` ({found})" for uri, found in profile["data"].items()), "",
             "| step | job | outcome | seconds | outputs |", "|---|---|---|---:|---|"]
    lines += [f"| {step['step']} | `{step['job']}` | {step['outcome'].replace('|', '/')} | {step['seconds']:.1f} | "
              + (", ".join(f"`{output}`" for output in step["outputs"]) or "none") + " |" for step in profile["steps"]]
    if profile["not_observable"]:
        noted = ", ".join(f"`{name}`" for name in profile["not_observable"])
        lines += ["", f"Set, and not observable offline: {noted}"]
    return lines


def metrics_line(series: list[MetricSeries]) -> str:
    """The declared metrics as the good training run emitted them, on one line (summary.md, report.html)."""
    return ", ".join(f"{m['name']} {m['count']} values" + (f", last {m['values'][-1]:g}" if m["values"] else "")
                     for m in series)

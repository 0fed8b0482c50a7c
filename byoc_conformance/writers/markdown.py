"""summary.md: the verdict, the gate, the counts and what did not pass, for a CI job's summary page."""

from __future__ import annotations

from ..report import MetricSeries, Report, RequirementRecord, Status, ValidationProfile, Verdict

VERDICT_MARKS = {Verdict.CONFORMANT: "✅", Verdict.NOT_CONFORMANT: "❌", Verdict.INCONCLUSIVE: "⚠️"}
LISTED = (("Failed (MUST)", Status.FAILED), ("Harness errors (not a verdict on the image)", Status.ERROR),
          ("Inconclusive", Status.INCONCLUSIVE))


def render(report: Report, digest: str) -> str:
    """summary.md, which names report.json by its SHA-256 (`digest`)."""
    image, counts = report.image, report.counts
    lines = [
        f"## SageMaker BYOC conformance: {report.verdict} {VERDICT_MARKS[report.verdict]}",
        "",
        f"Image `{image['reference']}` (`{image['id'][:19]}`), byoc-conformance {report.harness['version']}, "
        f"catalogue {report.harness['catalogue_version']}. Gate (`--byoc-fail-on {report.fail_on}`): "
        f"**{report.gate}**.",
        *(["", f"**Interrupted:** {report.interrupted}; what it did not reach is not checked."]
          if report.interrupted else []),
        "",
        "| " + " | ".join(Status) + " |",
        "|" + "---:|" * len(Status),
        "| " + " | ".join(str(counts[status]) for status in Status) + " |",
    ]
    for title, status in LISTED:
        # A failed SHOULD is listed once, under the warnings.
        listed = [r for r in report.requirements if r.status is status and (
            status is not Status.FAILED or r.level == "MUST")]
        if listed:
            lines += ["", f"**{title}:**"]
            lines += [f"- {r.id} ({r.level}): {_first_summary(r, status)}" for r in listed]
    if report.warnings:
        lines += ["", "**Warnings (SHOULD):**", *(f"- {warning}" for warning in report.warnings)]
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


def _first_summary(record: RequirementRecord, status: Status) -> str:
    return next((c.summary for c in record.checks if c.status is status), record.reason or "")

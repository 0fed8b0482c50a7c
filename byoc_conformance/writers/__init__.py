"""One writer per format, each only rendering a report.Report: json (report.json, checked against
specs/report.schema.json), html (report.html), markdown (summary.md), junit (junit.xml) and terminal (the summary
pytest prints at the end of the run). write_bundle writes the first four, the certification bundle."""

from __future__ import annotations

from pathlib import Path

from ..report import Report
from . import html, json, junit, markdown


def write_bundle(report: Report, directory: Path) -> Path:
    """Writes report.json (checked against specs/report.schema.json first), report.html, summary.md and
    junit.xml into `directory`; returns the path of report.json. summary.md and report.html carry report.json's
    SHA-256."""
    document = json.render(report)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_bytes(document)
    digest = json.digest(document)
    (directory / "summary.md").write_text(markdown.render(report, digest), encoding="utf-8")
    (directory / "report.html").write_text(html.render(report, digest), encoding="utf-8")
    (directory / "junit.xml").write_bytes(junit.render(report))
    return directory / "report.json"

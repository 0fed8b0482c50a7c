"""The certification report: one result record per requirement, the verdict, and the bundle written from
them (report.json, report.html, summary.md, junit.xml)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CheckResult:
    """What one check found."""

    check: str  # e.g. "TRAIN-17:sigterm-stops-training"
    requirement: str
    level: str  # the check's own level (a SHOULD part of a MUST requirement is SHOULD)
    status: str  # passed, failed, inconclusive, not applicable
    summary: str
    duration: float
    details: str | None = None  # the full message of a check that did not pass
    reproduce: str | None = None  # commands that repeat it

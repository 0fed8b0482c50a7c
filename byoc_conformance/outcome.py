"""What a run reports when it did not happen. Runs never judge: a run the image does not ask for, or one that was
tried and gave nothing to read, ends in one of these, remembered by the plan like any outcome; the checks decide
what it means (registry.judge: not applicable and inconclusive unless a check knows better, as checks/claims.py
does for a claimed server that never started)."""

from __future__ import annotations

from .verdicts import Evidence


class NotRun(Exception):
    """A run that did not happen, and why; `run` is what was started on the way, if anything (a server that never
    became healthy), for the verdict to show."""

    def __init__(self, why: str, *, run: Evidence | None = None) -> None:
        super().__init__(why)
        self.observed = why
        self.run = run


class Unclaimed(NotRun):
    """Nothing the image, its declaration or the options claim asks for this run (no multi-models label, no
    serverless profile, no channel in that input mode, ...)."""


class CouldNotRun(NotRun):
    """Tried, and nothing came of it to judge: a server that never became healthy, no model to serve, no valid
    request the declaration allows."""

"""Waivers: a team's known failures, each with a reason and an optional end date, so that the gate can be switched on
for an image before all of it is fixed. Given in the declaration's own section ($.byoc-conformance.waivers: {"id":
"TRAIN-17" or "TRAIN-17:sigterm-stops-training", "reason": ..., "until": "YYYY-MM-DD"}) or on the command line
(--byoc-waive ID[:check][@YYYY-MM-DD]=REASON). A waived failure is still reported, as `waived` with its reason; a
waiver past its date waives nothing; one that covers no failure of the checks that ran is stale."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from .engine import HarnessError

TARGET = re.compile(r"[A-Z]+-\d+(:[a-z0-9-]+)?")
OPTION = re.compile(r"(?P<target>[^@=]+)(@(?P<until>[^=]+))?=(?P<reason>.*)", re.DOTALL)


@dataclass(frozen=True)
class Waiver:
    target: str  # a requirement ID (all its checks) or one check, ID:name
    reason: str
    until: date | None = None  # the last day it waives
    source: str = "--byoc-waive"  # where it was given, for the messages

    def covers(self, check: str) -> bool:
        """Whether it is about `check` (ID:name)."""
        return check == self.target or check.split(":", 1)[0] == self.target

    def expired(self, today: date) -> bool:
        return self.until is not None and today > self.until

    def describe(self) -> str:
        return f"{self.reason}" + (f" (until {self.until.isoformat()})" if self.until else "")


def _waiver(target: str, reason: str, until: str | None, where: str, source: str) -> Waiver:
    target, reason = target.strip(), reason.strip()
    if not TARGET.fullmatch(target):
        raise HarnessError(f"{where}: {target!r} is not a requirement ID or ID:check (e.g. TRAIN-17 or "
                           "TRAIN-17:sigterm-stops-training)")
    if not reason:
        raise HarnessError(f"{where}: a waiver needs its reason")
    try:
        ends = date.fromisoformat(until.strip()) if until else None
    except ValueError:
        raise HarnessError(f"{where}: until {until!r} is not a date (YYYY-MM-DD)") from None
    return Waiver(target, reason, ends, source)


def from_option(value: str) -> Waiver:
    """--byoc-waive ID[:check][@YYYY-MM-DD]=REASON."""
    match = OPTION.fullmatch(value)
    where = f"--byoc-waive {value}"
    if not match:
        raise HarnessError(f"{where}: give ID[:check][@YYYY-MM-DD]=REASON, e.g. TRAIN-17@2027-03-31=fix in progress")
    return _waiver(match["target"], match["reason"], match["until"], where, "--byoc-waive")


def from_section(entries: list[dict[str, Any]], where: str) -> tuple[Waiver, ...]:
    """The declaration's $.byoc-conformance.waivers (its schema has checked the keys and types)."""
    return tuple(_waiver(entry["id"], entry["reason"], entry.get("until"), f"{where}[{number}]",
                         f"$.byoc-conformance.waivers[{number}]") for number, entry in enumerate(entries))


def check_targets(waivers: tuple[Waiver, ...], checks: set[str]) -> None:
    """Refuses a waiver about no check the harness has (a typo would otherwise waive nothing, silently)."""
    requirements = {check.split(":", 1)[0] for check in checks}
    for waiver in waivers:
        if waiver.target not in checks and waiver.target not in requirements:
            raise HarnessError(f"{waiver.source} {waiver.target}: names no check of this harness")

"""Training metrics as SageMaker collects them (METRIC-01..05): each declared MetricDefinition regex applied to
every line the training run wrote to stdout and stderr, as SageMaker's log collection stores that line (a control
character such as a tab reads `#011`), the first capture group read as the value."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .declaration import duplicate_names

MAX_DEFINITIONS = 40  # MetricDefinitionList (METRIC-02)
NAME_LENGTH = (1, 255)  # MetricName
REGEX_LENGTH = (1, 500)  # MetricRegex


@dataclass
class Series:
    """What one declared metric yielded in a run: the numbers, and captures that are not numbers."""

    name: str
    regex: str
    values: list[float] = field(default_factory=list)
    not_numbers: list[str] = field(default_factory=list)
    error: str | None = None  # the regex does not compile
    raw_only: int = 0  # lines it captured a number from only as printed, not as SageMaker stores them


    def summary(self) -> str:
        if self.error:
            return f"{self.name}: regex does not compile ({self.error})"
        if not self.values:
            if self.raw_only:
                return (f"{self.name}: no value as SageMaker stores the log, though {self.raw_only} line(s) match as "
                        f"printed: a control character (a tab reads #011 there) stands where the regex expects "
                        f"the character itself, so on SageMaker this regex captures nothing")
            return f"{self.name}: no value" + (f" (captured {self.not_numbers[:3]})" if self.not_numbers else "")
        return f"{self.name}: {len(self.values)} values, last {self.values[-1]:g}"

    def as_record(self) -> dict:
        return {"name": self.name, "count": len(self.values), "values": self.values[:1000]}


def compile_regex(regex: str) -> tuple[re.Pattern[str] | None, str | None]:
    try:
        return re.compile(regex), None
    except re.error as error:
        return None, str(error)


def value_of(match: re.Match[str]) -> str:
    # The first capture group is the value (METRIC-03); a regex without one yields the whole match.
    return match.group(1) if match.re.groups else match.group(0)


# SageMaker's log collection writes each control character of a line (a tab, a carriage return, an escape code) as
# '#' and its three octal digits: AWS's own metric regexes read a tab as #011.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def as_stored(line: str) -> str:
    """A log line as SageMaker stores it, and matches metric regexes against: control characters as #ooo."""
    return _CONTROL.sub(lambda found: f"#{ord(found.group()):03o}", line.rstrip("\n"))


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def extract(definitions: list[dict[str, str]], logs: str | Iterable[str]) -> dict[str, Series]:
    """Every match on every line counts: SageMaker's sampling rate is not documented (catalogue D.11).
    `logs` is the log's text or its lines (a long log is read from disk once, whatever the definitions)."""
    found = {}
    patterns = []
    for definition in definitions:
        series = Series(definition["Name"], definition["Regex"])
        pattern, series.error = compile_regex(definition["Regex"])
        found[series.name] = series
        if pattern:
            patterns.append((pattern, series))
    for line in logs.splitlines() if isinstance(logs, str) else logs:
        stored = as_stored(line)
        for pattern, series in patterns:
            for match in pattern.finditer(stored):
                text = (value_of(match) or "").strip()
                number = _number(text)
                (series.values.append(number) if math.isfinite(number) else series.not_numbers.append(text))
            # A regex written for the line as printed (\t for a tab) captures here and never on SageMaker: counted,
            # so that the failure says why.
            if stored != line and not pattern.search(stored) and any(
                    math.isfinite(_number((value_of(m) or "").strip())) for m in pattern.finditer(line)):
                series.raw_only += 1
    return found


def limit_problems(definitions: list[dict[str, str]]) -> list[str]:
    """What the API would refuse in AlgorithmSpecification.MetricDefinitions (METRIC-02)."""
    problems = []
    if len(definitions) > MAX_DEFINITIONS:
        problems.append(f"{len(definitions)} metric definitions; at most {MAX_DEFINITIONS} are allowed")
    for number, definition in enumerate(definitions):
        for key, (low, high) in (("Name", NAME_LENGTH), ("Regex", REGEX_LENGTH)):
            if not low <= len(definition[key]) <= high:
                problems.append(f"MetricDefinitions[{number}].{key} has {len(definition[key])} characters; "
                                f"{low}-{high} are allowed")
    problems += duplicate_names("metric", [definition["Name"] for definition in definitions])
    return problems


def regex_problems(definitions: list[dict[str, str]]) -> list[str]:
    """Regexes that cannot yield one clean value per match (METRIC-03)."""
    problems = []
    for definition in definitions:
        pattern, error = compile_regex(definition["Regex"])
        if error:
            problems.append(f"{definition['Name']}: {definition['Regex']!r} does not compile: {error}")
        elif pattern.groups != 1:
            problems.append(f"{definition['Name']}: {definition['Regex']!r} has {pattern.groups} capture groups")
    return problems

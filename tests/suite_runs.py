"""Running the conformance suite as a user does, and reading its verdicts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_images"

# Runs a command and prints, last on stderr, the peak resident memory of it and its descendants in KiB.
MEASURED = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
            "print('PEAK_RSS_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
            "sys.exit(code)")


@dataclass
class SuiteRun:
    exit_code: int
    output: str
    statuses: list[tuple[str, str]]  # (requirement ID, status) per conformance test
    levels: list[str]  # the level of each conformance test, in the same order
    seconds: float = 0.0  # wall time of the whole run
    peak_rss_mb: float | None = None  # the harness's peak memory, when measured
    checks: list[tuple[str, str]] = field(default_factory=list)  # (test name, status) per conformance test

    def ids_with(self, status: str) -> set[str]:
        return {requirement for requirement, s in self.statuses if s == status}

    def must_failed(self) -> bool:
        return self._a_must_is("failed")

    def gate_fails(self) -> bool:
        """What the default gate says: a MUST-level check failed or was inconclusive."""
        return self._a_must_is("failed", "inconclusive")

    def _a_must_is(self, *statuses: str) -> bool:
        return any(level == "MUST" and s in statuses for (_, s), level in zip(self.statuses, self.levels, strict=True))


def run_suite(image: str, where: Path, *options: str, timeout: float = 600, measure: bool = False,
              environment: dict[str, str] | None = None, junit: str = "junit.xml") -> SuiteRun:
    """`pytest --image IMAGE` in a directory of its own, as a user runs it (with `environment` added to this
    process's); with `measure`, its peak memory."""
    report = where / junit
    command = [sys.executable, "-m", "pytest", "--image", image, "-p", "no:cacheprovider", f"--junitxml={report}",
               *options]
    started = time.monotonic()
    completed = subprocess.run([sys.executable, "-c", MEASURED, *command] if measure else command,
                               cwd=where, capture_output=True, text=True, timeout=timeout,
                               env={**os.environ, **environment} if environment else None)
    seconds = time.monotonic() - started
    peak = re.search(r"^PEAK_RSS_KIB (\d+)$", completed.stderr, re.MULTILINE) if measure else None
    statuses, levels, checks = [], [], []
    if report.exists():
        for case in ElementTree.parse(report).getroot().iter("testcase"):
            properties = {p.get("name"): p.get("value") for p in case.iter("property")}
            statuses.append((properties.get("requirement", "?"), properties.get("status", "no status")))
            levels.append(properties.get("level", "?"))
            checks.append((case.get("name", "?"), statuses[-1][1]))
    return SuiteRun(completed.returncode, completed.stdout + completed.stderr, statuses, levels, seconds,
                    int(peak.group(1)) / 1024 if peak else None, checks)


def sample_options(sample: str) -> list[str]:
    """The options a sample is judged with: the declaration its expected.json names, if any, and in script mode
    the entry point and source directory ({"script": {"entry_point": ..., "source_dir": ...}})."""
    directory = SAMPLES / sample
    listed = json.loads((directory / "expected.json").read_text())
    options = [f"--byoc-spec={(directory / listed['declaration']).resolve()}"] if "declaration" in listed else []
    options += listed.get("options", [])  # harness options the sample is judged with (a claimed mode, say)
    if "script" in listed:
        options += [f"--byoc-entry-point={listed['script']['entry_point']}",
                    f"--byoc-source-dir={(directory / listed['script']['source_dir']).resolve()}"]
    return options


@contextmanager
def cpu_load(processes: int = 2) -> Iterator[None]:
    """Busy loops on every core for as long as the block runs (then ended), as a loaded CI machine has them."""
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for process in busy:
            process.kill()
            process.wait()


# A broken sample that replaces one program of a conforming sample, and is judged with that sample's declaration and
# options, leaves the other program as it was: what the other program's checks observe was proven by that sample's
# whole suite. Such a sample is judged on the area its program serves plus a guard set (the image, the declaration,
# and for training the model it hands to hosting); any other sample runs the whole suite.
TRAINING_ONLY = ("[TRAIN-", "[METRIC-", "[SCRIPT-")
HOSTING_ONLY = ("[SERVE-", "[STREAM-", "[BATCH-", "[MME-", "[PIPE-", "[SLS-", "[ASYNC-")
# A new model must still load and answer: the hosting checks that read the model rather than the serve program
# (sample train-leaves-unservable-model proves the guard: its model fails these).
MODEL_GUARD = ("[SERVE-04:ping-answers", "[SERVE-05:", "[SERVE-07:valid-csv")
REPLACED_PROGRAM = re.compile(r"COPY (train|serve) /opt/program/\1")


def _judged_with(sample: str) -> tuple[str | None, tuple[str, ...]]:
    """The declaration (resolved path) and harness options a sample's expected.json gives it."""
    directory = SAMPLES / sample
    listed = json.loads((directory / "expected.json").read_text())
    declaration = str((directory / listed["declaration"]).resolve()) if "declaration" in listed else None
    return declaration, tuple(listed.get("options", ()))


def _recipe(sample: str) -> tuple[str | None, list[str]]:
    """The sample its Dockerfile builds on (ARG BASE=byoc-samples/NAME) and its other instructions."""
    dockerfile = SAMPLES / sample / "Dockerfile"
    if not dockerfile.exists():
        return None, []
    text = dockerfile.read_text()
    base = re.search(r"^ARG BASE=byoc-samples/(\S+)$", text, re.MULTILINE)
    lines = [line.strip() for line in text.splitlines()]
    return (base.group(1) if base else None), [line for line in lines
                                                 if line and not line.startswith(("#", "ARG ", "FROM "))]


def _conforming(sample: str) -> bool:
    listed = SAMPLES / sample / "expected.json"
    return listed.exists() and not json.loads(listed.read_text())["failed"]


def judged_area(sample: str) -> str | None:
    """"training" or "hosting" when the sample's Dockerfile only replaces /opt/program/train or /opt/program/serve of
    a conforming sample and it is judged as that sample is: with its declaration and options, or those of a
    conforming sample that is the same image (a Dockerfile of FROM alone), or on the reference with the reference's
    declaration (which its own test judges whole). None when it runs everything."""
    base, instructions = _recipe(sample)
    replaced = REPLACED_PROGRAM.fullmatch(instructions[0]) if len(instructions) == 1 else None
    if "script" in json.loads((SAMPLES / sample / "expected.json").read_text()) or not replaced or not base \
            or not _conforming(base):
        return None
    same_image = [other.parent.name for other in SAMPLES.glob("*/expected.json")
                  if _conforming(other.parent.name) and _recipe(other.parent.name) == (base, [])]
    proven = {_judged_with(name) for name in (base, *same_image)}
    if base == "reference":
        proven.add((str((SAMPLES / "reference" / "byoc-spec.json").resolve()), ()))
    if _judged_with(sample) not in proven:
        return None
    return "training" if replaced.group(1) == "train" else "hosting"


def area_selection(area: str | None) -> list[str]:
    """The pytest -k option that judges a sample on its area (nothing for the whole suite)."""
    if area is None:
        return []
    if area == "hosting":
        return ["-k", " and ".join(f"not {prefix}" for prefix in TRAINING_ONLY)]
    others = " and ".join(f"not {prefix}" for prefix in HOSTING_ONLY)
    return ["-k", f"({others}) or " + " or ".join(MODEL_GUARD)]

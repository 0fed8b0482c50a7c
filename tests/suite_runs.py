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
from dataclasses import dataclass
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

    def ids_with(self, status: str) -> set[str]:
        return {requirement for requirement, s in self.statuses if s == status}

    def gate_fails(self) -> bool:
        """What the default gate says: a MUST-level check failed or was inconclusive."""
        return any(level == "MUST" and s in ("failed", "inconclusive")
                   for (_, s), level in zip(self.statuses, self.levels, strict=True))


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
    statuses, levels = [], []
    if report.exists():
        for case in ElementTree.parse(report).getroot().iter("testcase"):
            properties = {p.get("name"): p.get("value") for p in case.iter("property")}
            statuses.append((properties.get("requirement", "?"), properties.get("status", "no status")))
            levels.append(properties.get("level", "?"))
    return SuiteRun(completed.returncode, completed.stdout + completed.stderr, statuses, levels, seconds,
                    int(peak.group(1)) / 1024 if peak else None)


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

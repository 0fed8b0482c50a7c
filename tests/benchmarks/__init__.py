"""Benchmarks: scripts that print figures (python -m tests.benchmarks.NAME); none asserts anything."""

from __future__ import annotations

import argparse
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..suite_runs import SAMPLES, run_suite

WINDOW = "--byoc-startup-timeout=60"


def spec(sample: str) -> str:
    """The --byoc-spec option naming a sample's own declaration."""
    return f"--byoc-spec={SAMPLES / sample / 'byoc-spec.json'}"


@contextmanager
def run_directories() -> Iterator[Callable[[str], Path]]:
    """A function that makes a new directory per suite run, all removed at the end."""
    with tempfile.TemporaryDirectory(prefix="byoc-bench-") as scratch:
        def where(name: str) -> Path:
            path = Path(scratch) / name
            path.mkdir()
            return path

        yield where


def repeat_option(doc: str) -> int:
    """The benchmark's --repeat N (default 1), its --help taken from the module's docstring."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    return parser.parse_args().repeat


def whole_suite(sample: str, where: Path) -> str:
    """The whole suite on a sample with its own declaration: its wall time and verdict line."""
    run = run_suite(f"byoc-samples/{sample}", where, WINDOW, spec(sample), timeout=1800)
    verdict = re.search(r"^verdict: .*$", run.output, re.MULTILINE)
    return f"whole suite, {sample:11s}: {run.seconds:6.1f} s; {verdict.group(0) if verdict else 'no verdict line'}"

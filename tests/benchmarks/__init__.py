"""Benchmarks: scripts that print figures (python -m tests.benchmarks.NAME); none asserts anything."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..suite_runs import SAMPLES


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

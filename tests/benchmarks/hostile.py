"""The hostile images' table: case, verdict of the checks it attacks, wall time and the harness's peak memory.

    python -m tests.benchmarks.hostile [NAME ...]    (after `bash sample_images/build.sh`)"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from ..hostile_cases import CASES
from ..suite_runs import run_suite


def main(names: list[str]) -> None:
    print("| case | verdict (checks it attacks) | exit | wall time | peak RSS of the harness |")
    print("|---|---|---:|---:|---:|")
    for case in CASES:
        if names and case.sample not in names:
            continue
        with tempfile.TemporaryDirectory() as where:
            run = run_suite(f"byoc-samples/{case.sample}", Path(where), *case.options, measure=True)
        outcome = ", ".join(f"{requirement} {status}" for requirement, status in sorted(set(run.statuses)))
        print(f"| {case.name} | {outcome or 'no verdict'} | {run.exit_code} | {run.seconds:.1f} s | "
              f"{run.peak_rss_mb:.0f} MB |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Benchmark: a full run one container at a time (--byoc-jobs 1) and at once (the default, the engine's CPU
count, and --byoc-jobs 4), with and without a declaration, on the reference and the classifier-shaped sample;
prints each wall time, its ratio to --byoc-jobs 1, and whether every check's status came out the same.

    python -m tests.benchmarks.concurrency [--repeat 1]

Not a test: it prints figures and asserts nothing."""

from __future__ import annotations

from ..suite_runs import run_suite
from . import WINDOW, repeat_option, run_directories, spec

CASES = [("reference", True), ("reference", False), ("classifier", False)]
JOBS = [("--byoc-jobs=1",), (), ("--byoc-jobs=4",)]


def main() -> int:
    with run_directories() as where:
        for number in range(repeat_option(__doc__)):
            for sample, declared in CASES:
                options = (WINDOW, spec(sample)) if declared else (WINDOW,)
                name = f"{sample}, {'with' if declared else 'without'} its declaration"
                first = None
                for jobs in JOBS:
                    directory = where(f"{sample}-{declared}-{len(jobs) and jobs[0][-1]}-{number}")
                    run = run_suite(f"byoc-samples/{sample}", directory, *options, *jobs, timeout=1800)
                    first = first or run
                    same = "same statuses" if sorted(run.statuses) == sorted(first.statuses) else \
                        f"statuses differ: {sorted(set(run.statuses) ^ set(first.statuses))}"
                    print(f"{name:38s} {jobs[0] if jobs else '(default jobs)':16s} {run.seconds:6.1f} s, "
                          f"{run.seconds / first.seconds:4.0%} of one at a time; exit {run.exit_code}; {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

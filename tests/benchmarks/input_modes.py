"""Benchmark: what each declared training capability adds. The whole suite on the samples that declare them
(reference: FastFile; pipe: Pipe and FastFile; checkpoints: checkpoint resumption; distributed: 2 hosts and a
ShardedByS3Key job), then each capability's checks alone, with the time of the runs they make.

    python -m tests.benchmarks.input_modes [--repeat 1]

Not a test: it prints figures and asserts nothing."""

from __future__ import annotations

import json

from ..suite_runs import run_suite
from . import WINDOW, repeat_option, run_directories, spec, whole_suite

ALONE = [("pipe", "TRAIN-09"), ("pipe", "TRAIN-08"), ("reference", "TRAIN-07"), ("distributed", "TRAIN-07"),
         ("checkpoints", "TRAIN-19")]


def main() -> int:
    with run_directories() as where:
        for number in range(repeat_option(__doc__)):
            for sample in ("reference", "pipe", "checkpoints", "distributed"):
                print(whole_suite(sample, where(f"{sample}-{number}")))
            for sample, requirement in ALONE:
                directory = where(f"{sample}-{requirement}-{number}")
                run = run_suite(f"byoc-samples/{sample}", directory, WINDOW, spec(sample), "-k", requirement,
                                "--byoc-report=bundle", timeout=600)
                report = json.loads((directory / "bundle" / "report.json").read_text())
                checks = [c for r in report["requirements"] for c in r["checks"] if r["id"] == requirement]
                for check in checks:
                    print(f"{requirement} alone, {sample:11s}: {run.seconds:5.1f} s for the suite; "
                          f"{check['check']}: {check['status']}: {check['summary'][:160]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

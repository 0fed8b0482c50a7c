"""Benchmark: what a multi-host job adds. The whole suite on the distributed sample (2 hosts, its declaration
claims SupportsDistributedTraining) next to the reference with its declaration (single host only), and the
multi-host checks alone at 2, 4 and 10 hosts, with each host's time as the checks report it.

    python -m tests.benchmarks.multi_host [--repeat 1]

Not a test: it prints figures and asserts nothing."""

from __future__ import annotations

import json
import re

from ..suite_runs import run_suite
from . import WINDOW, repeat_option, run_directories, spec, whole_suite


def main() -> int:
    with run_directories() as where:
        for number in range(repeat_option(__doc__)):
            for sample in ("reference", "distributed"):
                print(whole_suite(sample, where(f"{sample}-{number}")))
            for hosts in (2, 4, 10):
                directory = where(f"hosts-{hosts}-{number}")
                run = run_suite("byoc-samples/distributed", directory, WINDOW, spec("distributed"),
                                f"--byoc-hosts={hosts}", "-k", "TRAIN-10", "--byoc-report=bundle", timeout=600)
                report = json.loads((directory / "bundle" / "report.json").read_text())
                summary = next(c["summary"] for r in report["requirements"] for c in r["checks"]
                               if c["check"] == "TRAIN-10:hosts-train-together")
                times = [float(s) for s in re.findall(r"after ([\d.]+) s", summary)]
                print(f"TRAIN-10 alone, {hosts:2d} hosts: {run.seconds:6.1f} s for the suite; hosts took "
                      f"{min(times):.1f}-{max(times):.1f} s" if times else summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: what a multi-host job adds. The whole suite on the distributed sample (2 hosts, its declaration
claims SupportsDistributedTraining) next to the reference with its declaration (single host only), and the
multi-host checks alone at 2, 4 and 10 hosts, with each host's time as the checks report it.

    python -m tests.benchmarks.multi_host [--repeat 1]

Not a test: it prints figures and asserts nothing."""

from __future__ import annotations

import argparse
import json
import re

from ..suite_runs import run_suite
from . import run_directories, spec

WINDOW = "--byoc-startup-timeout=60"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    options = parser.parse_args()
    with run_directories() as where:
        for number in range(options.repeat):
            for sample in ("reference", "distributed"):
                run = run_suite(f"byoc-samples/{sample}", where(f"{sample}-{number}"), WINDOW, spec(sample),
                                timeout=1800)
                verdict = re.search(r"^verdict: .*$", run.output, re.MULTILINE)
                print(f"whole suite, {sample}: {run.seconds:6.1f} s; "
                      f"{verdict.group(0) if verdict else 'no verdict line'}")
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

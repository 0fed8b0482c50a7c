"""Benchmark: the same verdict every run. Every sample (or the ones named) judged N times while both cores are
kept busy; prints, per sample, whether the statuses were the same each time, the failed IDs against
expected.json, and the wall time of each run.

    python -m tests.benchmarks.stability [--repeat 3] [--no-load] [SAMPLE ...]

Not a test: it prints figures and asserts nothing (tests/integration/test_stability.py runs the timing-sensitive
samples in CI)."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from ..suite_runs import SAMPLES, cpu_load, run_suite, sample_options


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("samples", nargs="*")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-load", action="store_true")
    options = parser.parse_args()
    samples = options.samples or sorted(path.parent.name for path in SAMPLES.glob("*/expected.json"))
    stable = 0
    with cpu_load(0 if options.no_load else 2), tempfile.TemporaryDirectory() as scratch:
        for sample in samples:
            expected = set(json.loads((SAMPLES / sample / "expected.json").read_text())["failed"])
            seen, times = [], []
            for number in range(options.repeat):
                where = Path(scratch) / f"{sample}-{number}"
                where.mkdir()
                started = time.monotonic()
                run = run_suite(f"byoc-samples/{sample}", where, "--byoc-startup-timeout=30", *sample_options(sample))
                times.append(time.monotonic() - started)
                seen.append((tuple(run.statuses), frozenset(run.ids_with("failed"))))
            same = len(set(seen)) == 1
            stable += same and seen[0][1] == expected
            verdict = "same" if same else "DIFFERENT"
            failed = " | ".join(",".join(sorted(f)) or "-" for _, f in seen)
            print(f"{sample:45} {verdict:9} failed: {failed} (expected {','.join(sorted(expected)) or '-'}) "
                  f"{' '.join(f'{t:.0f}s' for t in times)}", flush=True)
            if not same:  # which verdicts moved, run by run
                common = set.intersection(*(set(statuses) for statuses, _ in seen))
                for number, (statuses, _) in enumerate(seen, 1):
                    print(f"    run {number}: {sorted(set(statuses) - common) or 'as the others'}", flush=True)
    print(f"{stable} of {len(samples)} samples gave the expected verdicts in {options.repeat} of {options.repeat} runs"
          f"{'' if options.no_load else ' under load (2 busy loops)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

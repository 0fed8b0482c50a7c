"""Benchmark: what a declaration costs. The whole suite with and without --byoc-spec, and the containers the
declaration adds, counted from the engine's start events by role.

    python -m tests.benchmarks.declaration [--image byoc-samples/reference] [--spec FILE] [--repeat 3]

Not a test: it prints figures and asserts nothing. Run it on an otherwise idle engine."""

from __future__ import annotations

import argparse
import collections
import statistics
import subprocess
import sys
import tempfile
import time

from ..suite_runs import SAMPLES

ROLE = "byoc-conformance.role"


def suite(image: str, options: list[str], cwd: str) -> tuple[float, collections.Counter[str]]:
    """Wall time of one run, and the containers it started, by role. The events are read live: the engine
    keeps only its most recent events for later queries."""
    with subprocess.Popen(["docker", "events", "--filter", "event=start", "--filter", f"label={ROLE}",
                           "--format", f'{{{{index .Actor.Attributes "{ROLE}"}}}}'],
                          stdout=subprocess.PIPE, text=True) as events:
        time.sleep(0.5)  # let the subscription start
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "pytest", "--image", image, "-q", "-p", "no:cacheprovider", *options],
                       cwd=cwd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elapsed = time.monotonic() - started
        time.sleep(0.5)
        events.terminate()
        roles = events.stdout.read().split() if events.stdout else []
    return elapsed, collections.Counter(roles)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="byoc-samples/reference")
    parser.add_argument("--spec", default=str(SAMPLES / "reference" / "byoc-spec.json"))
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="byoc-bench-") as scratch:
        plain = [suite(options.image, [], scratch) for _ in range(options.repeat)]
        declared = [suite(options.image, ["--byoc-spec", options.spec], scratch) for _ in range(options.repeat)]
    without, with_spec = statistics.median(t for t, _ in plain), statistics.median(t for t, _ in declared)
    added = declared[0][1] - plain[0][1]
    print(f"image: {options.image}, declaration: {options.spec}, {options.repeat} repetitions, median wall time")
    print(f"  whole suite without a declaration: {without:6.2f} s, {sum(plain[0][1].values())} containers")
    print(f"  whole suite with the declaration:  {with_spec:6.2f} s, {sum(declared[0][1].values())} containers")
    print(f"  the declaration adds:              {with_spec - without:+6.2f} s, {sum(added.values())} training runs:")
    for role, count in sorted(added.items()):
        print(f"    {role}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the serving part of the suite against an image. Reports the time to healthy, the request
rate of the hypothesis property probes (the first one, which generates the payloads, and the next, which
sends the same ones) next to a plain keep-alive HTTP loop on the same container, and the wall time of the
serving checks.

    python -m tests.benchmarks.serving [--image byoc-samples/reference] [--requests 500]

Not a test: it prints figures and asserts nothing."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
import uuid

from byoc_conformance.checks import hosting as hosting_checks
from byoc_conformance.engine import Engine
from byoc_conformance.harness import trained_model
from byoc_conformance.hosting import Hosting
from byoc_conformance.jobs import TrainingRunner
from byoc_conformance.options import RunOptions, ServingOptions
from byoc_conformance.training import TrainingRuns


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="byoc-samples/reference")
    parser.add_argument("--requests", type=int, default=500)
    options = parser.parse_args()

    engine = Engine.connect(run_id=f"bench{uuid.uuid4().hex[:4]}")
    run = RunOptions(options.image, serving=ServingOptions(examples=options.requests))
    training = TrainingRuns(TrainingRunner(engine, options.image), run)
    hosting = Hosting(engine, run, lambda: trained_model(training, engine))
    try:
        server = hosting.shared
        print(f"image: {options.image}")
        print(f"  time to healthy (docker start to first /ping 200): {server.healthy_after:.2f} s")

        body, headers = b"1.5,-2,3e-2,4\n0,0,0,0\n", {"Content-Type": "text/csv", "Accept": "text/csv"}
        started = time.monotonic()
        for _ in range(options.requests):
            server.session.post(server.url("/invocations"), data=body, headers=headers).raise_for_status()
        loop = options.requests / (time.monotonic() - started)

        context = type("Ctx", (), {"hosting": hosting})()
        started = time.monotonic()
        hosting_checks.valid_csv_answered(context)  # the first property probe: generation, then sending
        first = time.monotonic() - started
        started = time.monotonic()
        hosting_checks.one_record_per_row(context)  # the next one sends the same payloads: no generation
        probes = options.requests / (time.monotonic() - started)
        print(f"  plain keep-alive loop:           {loop:7.0f} requests/s ({options.requests} requests)")
        print(f"  first property probe:            {options.requests / first:7.0f} requests/s, payload generation "
              f"included ({options.requests} generated payloads, {first:.2f} s)")
        print(f"  each further property probe:     {probes:7.0f} requests/s ({probes / loop:.0%} of the loop's rate)")
    finally:
        engine.sweep()

    with tempfile.TemporaryDirectory(prefix="byoc-bench-") as scratch:
        completed = subprocess.run(
            [sys.executable, "-m", "pytest", "--image", options.image, "-p", "no:cacheprovider", "--durations=0",
             "-q", "-vv"], cwd=scratch, capture_output=True, text=True,
        )
    durations = [float(m.group(1)) for m in re.finditer(r"^([0-9.]+)s \w+ +byoc-conformance::\S+\[(?:SERVE|PIPE)-",
                                                       completed.stdout, re.MULTILINE)]
    total = re.search(r"in ([0-9.]+)s", completed.stdout)
    print(f"  serving checks in the full suite (setup, call, teardown): {sum(durations):.2f} s "
          f"of {total.group(1) if total else '?'} s for the whole run")
    return 0


if __name__ == "__main__":
    sys.exit(main())

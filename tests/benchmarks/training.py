"""Benchmark: the training part of the suite against an image, next to the same `docker run` commands typed
by hand (the harness's own reproduce commands, run one after another by bash).

    python -m tests.benchmarks.training [--image byoc-samples/reference] [--repeat 3]

Not a test: it prints figures and asserts nothing."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from byoc_conformance import opt_ml
from byoc_conformance.jobs import TrainingRun


def timed(command: list[str], **options) -> float:
    started = time.monotonic()
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **options)
    return time.monotonic() - started


def by_hand_script(image: str, where: Path, signal_at: float) -> str:
    """The four training runs of the suite as plain docker commands, inputs prepared beforehand."""
    runs = [
        ("good-input", opt_ml.good_input(), None),
        ("empty-channel", opt_ml.empty_channel_input(), None),
        ("corrupt-csv", opt_ml.corrupt_csv_input(), None),
        ("sigterm", opt_ml.good_input(), signal_at),
    ]
    commands = []
    for slug, training_input, signal in runs:
        run = TrainingRun(slug, slug, image, training_input, {"TRAINING_JOB_NAME": f"bench-{slug}"}, signal_at=signal)
        commands.append(run.reproduce(where))
    return "\n".join(commands)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="byoc-samples/reference")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="byoc-bench-") as scratch:
        harness = [
            timed([sys.executable, "-m", "pytest", "--image", options.image, "-q", "-p", "no:cacheprovider"],
                  cwd=scratch)
            for _ in range(options.repeat)
        ]
        # The harness sends SIGTERM 40 % into the unsignalled run; by hand we do the same at a fixed 1.2 s.
        script = by_hand_script(options.image, Path(scratch) / "by-hand", signal_at=1.2)
        by_hand = [timed(["bash", "-c", script]) for _ in range(options.repeat)]

    print(f"image: {options.image}, {options.repeat} repetitions, median wall time")
    print(f"  pytest --image (whole training part, incl. pytest start-up): {statistics.median(harness):6.2f} s")
    print(f"  the same 4 docker run commands by hand:                      {statistics.median(by_hand):6.2f} s")
    print(f"  harness overhead:                                            "
          f"{statistics.median(harness) - statistics.median(by_hand):+6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

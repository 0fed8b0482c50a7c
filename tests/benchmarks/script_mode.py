"""Benchmark: the framework sample in script mode. How long its image takes to build (cached, and with
--no-cache from the fetched wheels), and how long the whole suite takes on the iris script, on the extended
image and on the reference, with the number of container runs each made.

    python -m tests.benchmarks.script_mode [--no-cache] [--repeat 1]

Not a test: it prints figures and asserts nothing."""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import time
from pathlib import Path

from ..suite_runs import SAMPLES, run_suite

FRAMEWORK = SAMPLES / "framework-sklearn"
SUITES = {
    "iris script on framework-sklearn": ("byoc-samples/framework-sklearn", [
        f"--byoc-spec={FRAMEWORK / 'byoc-spec.json'}", "--byoc-entry-point=train.py",
        f"--byoc-source-dir={FRAMEWORK / 'scripts' / 'iris'}"]),
    "framework-sklearn-extended (code baked in)": ("byoc-samples/framework-sklearn-extended", [
        f"--byoc-spec={FRAMEWORK / 'byoc-spec.json'}"]),
    "reference (standard library only)": ("byoc-samples/reference", [
        f"--byoc-spec={SAMPLES / 'reference' / 'byoc-spec.json'}"]),
}


def timed(command: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-cache", action="store_true", help="also build framework-sklearn without the layer cache")
    parser.add_argument("--repeat", type=int, default=1)
    options = parser.parse_args()

    build = ["bash", str(SAMPLES / "build.sh"), "framework-sklearn", "framework-sklearn-extended"]
    print(f"build.sh framework-sklearn framework-sklearn-extended (cached): {timed(build):6.1f} s")
    if options.no_cache:
        seconds = timed(["docker", "build", "--no-cache", "-q", "-t", "byoc-samples/framework-sklearn", str(FRAMEWORK)])
        print(f"docker build --no-cache framework-sklearn (wheels fetched):  {seconds:6.1f} s")
    wheels = sum(path.stat().st_size for path in (FRAMEWORK / "wheels").glob("*") if path.is_file())
    print(f"wheels in the build context: {wheels / 1e6:.0f} MB")

    with tempfile.TemporaryDirectory(prefix="byoc-bench-") as scratch:
        for name, (image, extra) in SUITES.items():
            for number in range(options.repeat):
                where = Path(scratch) / f"{len(name)}-{number}"
                where.mkdir()
                run = run_suite(image, where, "--byoc-startup-timeout=60", *extra, timeout=1800)
                verdict = re.search(r"^verdict: .*$", run.output, re.MULTILINE)
                print(f"{name}: {run.seconds:6.1f} s; {verdict.group(0) if verdict else 'no verdict line'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

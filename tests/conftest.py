from __future__ import annotations

import os
import subprocess
import time

import docker
import docker.errors
import pytest
import requests.exceptions

from .suite_runs import SAMPLES

pytest_plugins = ["pytester"]

@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    """A Docker engine that answers. Without one the test skips, except under CI=true, where it fails:
    a green CI run that skipped every container test would prove nothing."""
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true, but no Docker engine answers: {error}")
        pytest.skip(f"no Docker engine answers: {error}")
    return client


@pytest.fixture(scope="session")
def sample_images(docker_client: docker.DockerClient) -> list[str]:
    """Every sample image built (offline if need be); returns the sample names."""
    subprocess.run(["bash", str(SAMPLES / "build.sh")], check=True, stdout=subprocess.DEVNULL)
    return sorted(path.parent.name for path in SAMPLES.glob("*/expected.json"))


# Wall time per part of the suite (tests/unit and tests/plugin as a whole, each integration module on its own), from
# its first test's start to its last one's end: the phases CI's budget is spent on. Printed after the run, and
# appended to $BYOC_CI_TIMES (a line "seconds<TAB>part" each) when set, for .ci/run's closing table.
_part_times: dict[str, list[float]] = {}


def _part(nodeid: str) -> str:
    path = nodeid.split("::")[0]
    return path if path.startswith("tests/integration/") else "/".join(path.split("/")[:2])


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _part_times.setdefault(_part(nodeid), [time.monotonic(), time.monotonic()])


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _part_times[_part(nodeid)][1] = time.monotonic()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _part_times:
        return
    terminalreporter.section("wall time per part")
    lines = [f"{end - start:8.1f}\t{part}" for part, (start, end) in _part_times.items()]
    for line in lines:
        terminalreporter.write_line(line.replace("\t", " s  "))
    if times_file := os.environ.get("BYOC_CI_TIMES"):
        with open(times_file, "a", encoding="utf-8") as out:
            out.write("".join(f"{line}\n" for line in lines))

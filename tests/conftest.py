from __future__ import annotations

import os
import subprocess

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

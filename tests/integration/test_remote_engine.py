"""The suite through a remote engine, as a CI job with a Docker-in-Docker service runs it: an engine in a
privileged container on this machine (tests/dind), listening on TCP, with the sample images loaded into it. Run
through DOCKER_HOST=tcp://..., the suite reaches servers at the engine's host, gives the verdicts it gives on the
local engine, and leaves nothing on either engine."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
import requests.exceptions
from docker.types import Mount

from byoc_conformance.engine import RUN_LABEL

from ..suite_runs import SAMPLES, run_suite, sample_options
from .test_hygiene import leftovers

pytestmark = pytest.mark.docker
DIND = Path(__file__).resolve().parent.parent / "dind"
TEST_LABEL = "byoc-conformance.test"
WINDOW = "--byoc-startup-timeout=15"
# The reference, and broken samples whose verdicts come from training, from a server, and from SIGTERM.
THROUGH_REMOTE = ["reference", "train-exits-nonzero", "serve-ping-500", "serve-ignores-sigterm"]


@pytest.fixture(scope="module")
def remote_engine(docker_client: docker.DockerClient, sample_images: list[str]) -> Iterator[str]:
    """DOCKER_HOST of an engine running in a container of the local one, with the samples of THROUGH_REMOTE."""
    image, _ = docker_client.images.build(path=str(DIND), tag="byoc-test/dind:latest", rm=True)
    storage = docker_client.volumes.create(labels={TEST_LABEL: "dind"})
    # What dockerd in a container needs, short of --privileged (which this CI machine's engine cannot grant: its
    # own capability set lacks one): mounts and networks of its own, and cgroups it may write, under a parent of
    # their own.
    engine = docker_client.containers.run(
        image.id, ["--cgroup-parent=/byoc-dind"], detach=True, labels={TEST_LABEL: "dind"},
        cap_add=["SYS_ADMIN", "NET_ADMIN"], security_opt=["seccomp=unconfined", "apparmor=unconfined"],
        mounts=[Mount("/var/lib/docker", storage.name), Mount("/sys/fs/cgroup", "/sys/fs/cgroup", type="bind")])
    try:
        engine.reload()
        url = f"tcp://{engine.attrs['NetworkSettings']['IPAddress']}:2375"
        deadline = time.monotonic() + 60
        while True:
            try:
                remote = docker.DockerClient(base_url=url, timeout=60)  # asks the engine its API version
                break
            except (docker.errors.DockerException, requests.exceptions.RequestException):
                engine.reload()
                assert engine.status == "running" and time.monotonic() < deadline, engine.logs()[-3000:].decode()
                time.sleep(0.5)
        names = [f"byoc-samples/{sample}:latest" for sample in THROUGH_REMOTE]
        subprocess.run(f"docker save {' '.join(names)} | docker -H {url} load -q", shell=True, check=True,
                       stdout=subprocess.DEVNULL, timeout=600)
        yield url
        assert leftovers(remote) == [], "the runs left objects on the remote engine"
    finally:
        engine.remove(force=True)
        storage.remove(force=True)


@pytest.mark.parametrize("sample", THROUGH_REMOTE)
def test_a_remote_engine_gives_the_local_verdicts(sample, remote_engine, docker_client, tmp_path):
    host = remote_engine.removeprefix("tcp://").rpartition(":")[0]
    remote = run_suite(f"byoc-samples/{sample}", tmp_path, WINDOW, *sample_options(sample),
                       environment={"DOCKER_HOST": remote_engine})
    assert f"servers on a bridge, port published on all the engine's interfaces, reached at {host}" in remote.output
    expected = set(json.loads((SAMPLES / sample / "expected.json").read_text())["failed"])
    assert remote.ids_with("failed") == expected, remote.output
    if sample == "reference":  # every status, not only the failures, as the local engine gives them
        (tmp_path / "local").mkdir()
        local = run_suite(f"byoc-samples/{sample}", tmp_path / "local", WINDOW, *sample_options(sample))
        assert sorted(remote.statuses) == sorted(local.statuses), remote.output
    run_id = re.search(r"Docker engine [^,]+, run ([0-9a-f]+)", remote.output).group(1)
    labelled = {"label": f"{RUN_LABEL}={run_id}"}  # this run's objects, whatever else the local engine runs
    assert not docker_client.containers.list(all=True, filters=labelled) + docker_client.volumes.list(
        filters=labelled) + docker_client.networks.list(filters=labelled), "objects of the run on the local engine"

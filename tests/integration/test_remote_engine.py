"""The suite through a remote engine, as a CI job with a Docker-in-Docker service runs it: an engine in a
container on this machine (tests/dind), listening on TCP with TLS, as docker:dind does by default, with the
sample images loaded into it. Run through DOCKER_HOST=tcp://..., DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, the
suite reaches servers at the engine's host, gives the verdicts it gives on the local engine, and leaves nothing
on either engine."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import docker.tls
import pytest
import requests.exceptions
from docker.types import Mount

from byoc_conformance.engine import RUN_LABEL, tar_of

from ..suite_runs import SAMPLES, area_selection, judged_area, run_suite, sample_options
from .test_hygiene import leftovers

pytestmark = pytest.mark.docker
DIND = Path(__file__).resolve().parent.parent / "dind"
TEST_LABEL = "byoc-conformance.test"
WINDOW = "--byoc-startup-timeout=15"
# The reference, and broken samples whose verdicts come from training, from a server, and from SIGTERM. (Not
# serve-small-backlog: through the engine's NAT under load, its backlog of one kept up with some bursts and
# reset some of SERVE-07's concurrent requests, so its verdicts there are not the same every run.)
THROUGH_REMOTE = ["reference", "train-exits-nonzero", "serve-ping-500", "serve-ignores-sigterm"]


# dockerd waits for its certificates, which name the address the engine gives the container once it runs.
WAIT_FOR_CERTIFICATES = ("while [ ! -f /certs/ready ]; do sleep 0.1; done; exec dockerd --host=tcp://0.0.0.0:2376 "
                         "--tlsverify --tlscacert=/certs/ca.pem --tlscert=/certs/server-cert.pem "
                         "--tlskey=/certs/server-key.pem --cgroup-parent=/byoc-dind")


def certificates(directory: Path, address: str) -> dict[str, str]:
    """A CA, a server certificate for `address` and a client certificate, as docker:dind makes them; returns the
    client's environment (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH with ca.pem, cert.pem, key.pem)."""
    def openssl(*arguments: str) -> None:
        subprocess.run(["openssl", *arguments], cwd=directory, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "1",
            "-subj", "/CN=byoc-test-ca")
    (directory / "server.ext").write_text(f"subjectAltName=IP:{address}\nextendedKeyUsage=serverAuth\n")
    (directory / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, key, cert in [("server", "server-key.pem", "server-cert.pem"), ("client", "key.pem", "cert.pem")]:
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", f"{name}.csr", "-subj", f"/CN={name}")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                "-out", cert, "-days", "1", "-extfile", f"{name}.ext")
    return {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(directory)}


@pytest.fixture(scope="module")
def remote_engine(docker_client: docker.DockerClient, sample_images: list[str],
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment (DOCKER_HOST and TLS) of an engine running in a container of the local one, listening on
    TCP with TLS as docker:dind does by default, with the samples of THROUGH_REMOTE loaded."""
    image, _ = docker_client.images.build(path=str(DIND), tag="byoc-test/dind:latest", rm=True)
    storage = docker_client.volumes.create(labels={TEST_LABEL: "dind"})
    # What dockerd in a container needs, short of --privileged (which this CI machine's engine cannot grant: its
    # own capability set lacks one): mounts and networks of its own, and cgroups it may write, under a parent of
    # their own.
    engine = docker_client.containers.run(
        image.id, ["-c", WAIT_FOR_CERTIFICATES], entrypoint=["sh"], detach=True, labels={TEST_LABEL: "dind"},
        cap_add=["SYS_ADMIN", "NET_ADMIN"], security_opt=["seccomp=unconfined", "apparmor=unconfined"],
        mounts=[Mount("/var/lib/docker", storage.name), Mount("/sys/fs/cgroup", "/sys/fs/cgroup", type="bind")])
    try:
        engine.reload()
        address = engine.attrs["NetworkSettings"]["IPAddress"]
        directory = tmp_path_factory.mktemp("dind-certs")
        environment = {"DOCKER_HOST": f"tcp://{address}:2376", **certificates(directory, address)}
        engine.put_archive("/", tar_of({f"certs/{name}": (directory / name).read_bytes()
                                        for name in ("ca.pem", "server-cert.pem", "server-key.pem")}))
        engine.put_archive("/", tar_of({"certs/ready": b""}))
        tls = docker.tls.TLSConfig(client_cert=(str(directory / "cert.pem"), str(directory / "key.pem")),
                                   ca_cert=str(directory / "ca.pem"), verify=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                remote = docker.DockerClient(base_url=f"https://{address}:2376", tls=tls, timeout=60, version="1.41")
                remote.api.trust_env = False  # the engine's CA, not REQUESTS_CA_BUNDLE (see engine.client_from_env)
                remote.ping()
                break
            except (docker.errors.DockerException, requests.exceptions.RequestException):
                engine.reload()
                assert engine.status == "running" and time.monotonic() < deadline, engine.logs()[-3000:].decode()
                time.sleep(0.5)
        names = [f"byoc-samples/{sample}:latest" for sample in THROUGH_REMOTE]
        save = subprocess.Popen(["docker", "save", *names], stdout=subprocess.PIPE)  # from the local engine
        subprocess.run(["docker", "load", "-q"], stdin=save.stdout, env={**os.environ, **environment}, check=True,
                       stdout=subprocess.DEVNULL, timeout=600)
        assert save.wait(timeout=60) == 0
        yield environment
        assert leftovers(remote) == [], "the runs left objects on the remote engine"
    finally:
        engine.remove(force=True)
        storage.remove(force=True)


@pytest.mark.parametrize("sample", THROUGH_REMOTE)
def test_a_remote_engine_gives_the_local_verdicts(sample, remote_engine, docker_client, tmp_path):
    host = remote_engine["DOCKER_HOST"].removeprefix("tcp://").rpartition(":")[0]
    # A broken sample on the area test_samples judges it on; the reference on the whole suite.
    remote = run_suite(f"byoc-samples/{sample}", tmp_path, WINDOW, *sample_options(sample),
                       *area_selection(judged_area(sample)), environment=remote_engine)
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

"""The Docker engine, as this harness uses it: every object it creates is labelled with the run's ID so
that nothing outlives the run, whether it ends normally, fails or is interrupted."""

from __future__ import annotations

import contextlib
import io
import tarfile
from collections import Counter
from collections.abc import Iterable
from typing import Any

import docker
import docker.errors
import requests.exceptions
from docker.models.containers import Container
from docker.models.images import Image
from docker.types import Mount

RUN_LABEL = "byoc-conformance.run"
# How long one Docker API call may take; waits for containers set their own deadlines.
API_TIMEOUT = 60


class HarnessError(Exception):
    """A problem with the harness's input or environment, reported as one line with no traceback."""


class Engine:
    def __init__(self, client: docker.DockerClient, run_id: str) -> None:
        self.client = client
        self.run_id = run_id
        self._names: Counter[str] = Counter()

    @classmethod
    def connect(cls, run_id: str) -> Engine:
        try:
            client = docker.from_env(timeout=API_TIMEOUT)
            client.ping()
        except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
            raise HarnessError(
                f"cannot reach a Docker engine ({error}); is it running, and is DOCKER_HOST right?"
            ) from None
        return cls(client, run_id)

    def version(self) -> str:
        return str(self.client.version().get("Version", "unknown"))

    def image(self, reference: str) -> Image:
        """The image to test, pulled if it is not present locally."""
        try:
            return self.client.images.get(reference)
        except docker.errors.ImageNotFound:
            pass
        except docker.errors.APIError as error:
            raise HarnessError(f"cannot inspect image {reference!r}: {error.explanation}") from None
        try:
            return self.client.images.pull(reference)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
            reason = getattr(error, "explanation", None) or str(error)
            raise HarnessError(
                f"image {reference!r} is not present locally and could not be pulled: {reason}"
            ) from None

    def labels(self, role: str) -> dict[str, str]:
        return {RUN_LABEL: self.run_id, "byoc-conformance.role": role}

    def name(self, role: str) -> str:
        return f"byoc-{self.run_id}-{role}"

    def new_name(self, role: str) -> str:
        """A name no object of this run has had: a role used again gets -2, -3, ... (never a 409 Conflict)."""
        self._names[role] += 1
        count = self._names[role]
        return self.name(role if count == 1 else f"{role}-{count}")

    def volume(self, role: str) -> str:
        """A new, empty, labelled volume; returns its name."""
        return str(self.client.volumes.create(name=self.new_name(role), labels=self.labels(role)).name)

    @staticmethod
    def mount(volume: str, target: str, read_only: bool = False) -> Mount:
        # no_copy: like SageMaker's own mounts, the volume hides whatever the image has at `target`.
        return Mount(target, volume, type="volume", read_only=read_only, no_copy=True)

    def network(self) -> str:
        """The run's own bridge network, created on first use; ports published from it reach 127.0.0.1."""
        name = self.name("net")
        if not self.client.networks.list(names=[name]):
            self.client.networks.create(name, driver="bridge", labels=self.labels("net"))
        return name

    def create_container(self, image: str, command: list[str], role: str, **options: Any) -> Container:
        return self.client.containers.create(image, command, name=self.new_name(role), labels=self.labels(role),
                                             **options)

    def remove(self, container: Container, volumes: Iterable[str] = ()) -> None:
        """Remove a container and the given volumes; what is already gone is fine."""
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
        for name in volumes:
            with contextlib.suppress(docker.errors.NotFound):
                self.client.volumes.get(name).remove(force=True)

    def sweep(self) -> int:
        """Remove everything this run created that is still there; returns how many objects."""
        selector = {"label": f"{RUN_LABEL}={self.run_id}"}
        removed = 0
        for container in self.client.containers.list(all=True, filters=selector):
            container.remove(force=True)
            removed += 1
        for volume in self.client.volumes.list(filters=selector):
            volume.remove(force=True)
            removed += 1
        for network in self.client.networks.list(filters=selector):
            network.remove()
            removed += 1
        return removed


def tar_of(files: dict[str, bytes], directories: tuple[str, ...] = ()) -> bytes:
    """A tar archive holding `files` (relative path -> content) and empty `directories`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in directories:
            info = tarfile.TarInfo(path)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(content), 0o644
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def read_archive(container: Container, path: str) -> bytes | None:
    """`path` in a container as a tar archive (its top entry named after the last part of `path`), or None
    if it does not exist."""
    try:
        stream, _ = container.get_archive(path)
    except docker.errors.NotFound:
        return None
    return b"".join(stream)


def files_in(archive: bytes) -> dict[str, bytes | None]:
    """The files in an archive from read_archive, by path below its top entry (None: not a regular file)."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        files: dict[str, bytes | None] = {}
        for member in tar.getmembers():
            if member.isdir():
                continue
            extracted = tar.extractfile(member) if member.isfile() else None
            files[member.name.partition("/")[2] or member.name] = extracted.read() if extracted else None
        return files

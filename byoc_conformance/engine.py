"""The Docker engine, as this harness uses it: every object it creates is labelled with the run's ID so
that nothing outlives the run, whether it ends normally, fails or is interrupted."""

from __future__ import annotations

import contextlib
import io
import tarfile
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

    def create_container(
        self, image: str, command: list[str], role: str, volumes: tuple[str, ...] = (), **options: Any
    ) -> Container:
        """A container (not started) with an empty, labelled volume mounted at each path in `volumes`."""
        mounts = []
        for target in volumes:
            volume_role = f"{role}{target.replace('/', '-')}"
            volume = self.client.volumes.create(name=self.name(volume_role), labels=self.labels(volume_role))
            # no_copy: like SageMaker's own mounts, the volume hides whatever the image has at `target`.
            mounts.append(Mount(target, volume.name, type="volume", no_copy=True))
        try:
            return self.client.containers.create(
                image, command, name=self.name(role), labels=self.labels(role), mounts=mounts, **options
            )
        except BaseException:
            self._remove_volumes([m["Source"] for m in mounts])
            raise

    def remove(self, container: Container) -> None:
        """Remove a container and the volumes created with it."""
        volumes = [m["Source"] for m in container.attrs["HostConfig"].get("Mounts") or []]
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
        self._remove_volumes(volumes)

    def _remove_volumes(self, names: list[str]) -> None:
        for name in names:
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


def read_tree(container: Container, path: str) -> dict[str, bytes | None] | None:
    """The files under `path` in a container (relative path -> content; None for non-regular files),
    or None if `path` does not exist."""
    try:
        stream, _ = container.get_archive(path)
    except docker.errors.NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        tree: dict[str, bytes | None] = {}
        for member in archive.getmembers():
            relative = member.name.partition("/")[2]
            if member.isdir():
                continue
            extracted = archive.extractfile(member) if member.isfile() else None
            tree[relative or member.name] = extracted.read() if extracted else None
        return tree

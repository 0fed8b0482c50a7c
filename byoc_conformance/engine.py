"""The Docker engine, as this harness uses it: every object it creates is labelled with the run's ID so
that nothing outlives the run, whether it ends normally, fails or is interrupted."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions
from docker.models.containers import Container
from docker.models.images import Image
from docker.types import Mount

from .exchange import KIB, MIB
from .waiting import Poll

RUN_LABEL = "byoc-conformance.run"
PID_LABEL = "byoc-conformance.pid"  # the harness process, so that a later run can tell a dead run's leftovers
HOST_LABEL = "byoc-conformance.host"
# The one-line cleanup of everything any run left, for the README and the warning about leftovers.
CLEANUP_COMMAND = ("docker rm -f $(docker ps -aq --filter label=byoc-conformance.run); "
                   "docker volume rm $(docker volume ls -q --filter label=byoc-conformance.run); "
                   "docker network rm $(docker network ls -q --filter label=byoc-conformance.run)")
# How long one Docker API call may take; waits for containers set their own deadlines.
API_TIMEOUT = 60
# What the harness holds of a container's log: all of a short one; of a long one (kept whole on disk) its
# first and last parts, which carry the start-up and the error.
LOG_HEAD, LOG_TAIL = 64 * KIB, 1 * MIB
FILE_CAP = 1 * MIB  # what is read of one file a container leaves (the failure file, /opt/ml/output's files)


LOOPBACK = "127.0.0.1"
CLOSED_PORT = 1  # a port no server listens on (tcpmux), published beside the server's; see Engine.proxied
# Where published ports are reached instead of the engine's host: testcontainers' variable, which users of a
# Docker-in-Docker service or a tunnelled engine have set already.
HOST_OVERRIDE = "TESTCONTAINERS_HOST_OVERRIDE"

ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64"}  # the engine's `uname -m` as image platforms name it


class HarnessError(Exception):
    """A problem with the harness's input or environment, reported as one line with no traceback."""


@dataclass(frozen=True)
class Limits:
    """What one container of the run may use: memory (MiB, swap included) and processes."""

    memory_mb: int = 8192
    pids: int = 4096

    def create_options(self) -> dict[str, Any]:
        memory = f"{self.memory_mb}m"
        return {"mem_limit": memory, "memswap_limit": memory, "pids_limit": self.pids}

    def describe(self) -> dict[str, Any]:
        return {"memory_mb": self.memory_mb, "pids": self.pids}


class Engine:
    def __init__(self, client: docker.DockerClient, run_id: str, *, isolated: bool = True,
                 limits: Limits | None = None, host_address: str = LOOPBACK, remote: bool = False) -> None:
        self.client = client
        self.run_id = run_id
        # Serving on an internal network (no route out), reached at the container's own address; else on a
        # bridge with the port published on 127.0.0.1, for engines whose container addresses this host
        # cannot reach (Docker Desktop, remote engines).
        self.isolated = isolated
        # Where this machine reaches a port the engine publishes: loopback for a local engine, the engine's host
        # for a remote one (tcp://, ssh://), or what the user says it is. A local engine publishes on loopback
        # only; a remote one on all its interfaces, or nothing here could reach it.
        self.host_address = host_address
        self.remote = remote
        self.resource_limits = limits or Limits()
        self.platform = "linux/amd64"  # the engine's, as os/architecture
        self.reaper: subprocess.Popen[bytes] | None = None
        self.cpus = 1  # the engine's, as it reports them: how many runs at once by default
        # User namespaces (userns-remap, rootless): the engine's `ps` shows host user IDs, not the container's.
        self.remapped_users = False
        self._names: Counter[str] = Counter()
        self._network: str | None = None  # its name, once created
        self._lock = threading.Lock()  # runs are started from several threads
        self.closing = False  # the run is ending: nothing new is created, so that its sweep is the last word
        # The run's containers that have died, by ID, as the engine's events say (watch_deaths).
        self.died: set[str] = set()
        self._events: Any = None
        # Logs, archives and models go to disk here, not into memory; removed when the run ends.
        self.scratch = Path(tempfile.mkdtemp(prefix=f"byoc-conformance-{run_id}-"))

    @classmethod
    def connect(cls, run_id: str, *, network: str = "auto", limits: Limits | None = None,
                host_address: str | None = None) -> Engine:
        try:
            client = client_from_env()
            client.ping()
            info = client.info()
        except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
            raise HarnessError(
                f"cannot reach a Docker engine ({error}); is it running, and is DOCKER_HOST right?"
            ) from None
        remote_host = engine_host(os.environ.get("DOCKER_HOST"))
        if network == "auto":
            local = remote_host is None and client.api.base_url.startswith("http+docker://localhost") and \
                "Desktop" not in str(info.get("OperatingSystem", ""))
            network = "internal" if local else "published"
        address = host_address or os.environ.get(HOST_OVERRIDE) or remote_host or LOOPBACK
        engine = cls(client, run_id, isolated=network == "internal", limits=limits, host_address=address,
                     remote=remote_host is not None)
        machine = str(info.get("Architecture", ""))
        engine.platform = f"{info.get('OSType', 'linux')}/{ARCHITECTURES.get(machine, machine)}"
        engine.cpus = max(1, int(info.get("NCPU") or 1))
        engine.remapped_users = any(option in ("name=userns", "name=rootless")
                                    for option in info.get("SecurityOptions") or [])
        return engine

    def describe_network(self) -> str:
        if self.isolated:
            return "an internal network (no route out), reached at the container's address"
        where = "all the engine's interfaces" if self.remote else LOOPBACK
        return f"a bridge, port published on {where}, reached at {self.host_address}"

    def publish_option(self, port: int) -> str:
        """The `docker run` option that publishes `port` as this engine's servers are published."""
        return f"-p {port}:{port}" if self.remote else f"-p {LOOPBACK}:{port}:{port}"

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
        return {RUN_LABEL: self.run_id, "byoc-conformance.role": role, PID_LABEL: str(os.getpid()),
                HOST_LABEL: socket.gethostname()}

    def name(self, role: str) -> str:
        return f"byoc-{self.run_id}-{role}"

    def new_name(self, role: str, *, creating: bool = True) -> str:
        """A name no object of this run has had: a role used again gets -2, -3, ... (never a 409 Conflict)."""
        with self._lock:
            if creating and self.closing:
                raise HarnessError("the run is ending: no new container, volume or network is created")
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
        """The run's own bridge network, created on first use: internal (no route out) when isolated."""
        with self._lock:
            if self._network is None:
                self.client.networks.create(self.name("net"), driver="bridge", internal=self.isolated,
                                            labels=self.labels("net"))
                self._network = self.name("net")
        return self._network

    def job_network(self, role: str) -> str:
        """A new internal network (no route out) for the hosts of one training job, which reach each other by
        their host names (network aliases) and nothing else; removed with remove_network."""
        name = self.new_name(role)
        self.client.networks.create(name, driver="bridge", internal=True, labels=self.labels(role))
        return name

    def remove_network(self, name: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.client.networks.get(name).remove()

    def serving_network(self, *ports: int) -> dict[str, Any]:
        """The create options that put a server on the run's network, its ports published only if need be."""
        options: dict[str, Any] = {"network": self.network()}
        if not self.isolated:
            interface = "0.0.0.0" if self.remote else LOOPBACK
            # CLOSED_PORT too, where nothing listens: whether a connection to it is accepted tells whether a
            # proxy on the engine's host accepts for the container (see proxied).
            options["ports"] = {f"{port}/tcp": (interface, None) for port in (*ports, CLOSED_PORT)}
        return options

    def proxied(self, container: Container) -> bool | None:
        """Whether connections to the container's published ports are accepted by a proxy on the engine's host
        (Docker's userland proxy, which serves connections from the host's own loopback) rather than by the
        container: True if a connection to CLOSED_PORT completes, False if it is refused, None if unknown.
        Without publishing, the harness reaches the container's own address, never a proxy."""
        if self.isolated:
            return False
        address = self.address(container, CLOSED_PORT)
        if address is None:
            return None
        try:
            socket.create_connection(address, timeout=5).close()
        except ConnectionRefusedError:
            return False
        except OSError:
            return None
        return True

    def address(self, container: Container, port: int) -> tuple[str, int] | None:
        """Where this host reaches `port` of a running container, as the engine reports it; None before the
        engine has it, or once the container has exited."""
        container.reload()
        settings = container.attrs.get("NetworkSettings") or {}
        if not self.isolated:
            published = (settings.get("Ports") or {}).get(f"{port}/tcp") or []
            return (self.host_address, int(published[0]["HostPort"])) if published else None
        ip = ((settings.get("Networks") or {}).get(self.network()) or {}).get("IPAddress")
        return (ip, port) if ip else None

    def limits(self) -> dict[str, Any]:
        """The resource limits of every container the run starts (the image is untrusted)."""
        return self.resource_limits.create_options()

    def create_container(self, image: str, command: list[str], role: str, **options: Any) -> Container:
        return self.client.containers.create(image, command, name=self.new_name(role), labels=self.labels(role),
                                             **options)

    def container(self, image: str, command: list[str], role: str,
                  **options: Any) -> AbstractContextManager[Container]:
        """A new labelled container (created at once) for a `with` block, removed when the block ends however
        it ends."""
        return self.removing(self.create_container(image, command, role, **options))

    @contextlib.contextmanager
    def removing(self, container: Container) -> Iterator[Container]:
        """`container` for a `with` block, removed when the block ends however it ends (an error, Ctrl-C)."""
        try:
            yield container
        finally:
            self.remove(container)

    def filled_volume(self, role: str, image: str, files: dict[str, bytes]) -> str:
        """A new volume holding `files`, written through a container of `image` that is created and removed without
        ever starting: a volume that a container mounts read-only cannot be written through that container."""
        volume = self.volume(role)
        try:
            with self.container(image, ["true"], f"{role}-loader", network_mode="none",
                                mounts=[self.mount(volume, "/byoc-load")]) as loader:
                loader.put_archive("/byoc-load", tar_of(files))
        except BaseException:
            self.remove_volume(volume)
            raise
        return volume

    def remove_volume(self, name: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.client.volumes.get(name).remove(force=True)

    def remove(self, container: Container, volumes: Iterable[str] = ()) -> None:
        """Remove a container and the given volumes; what is already gone is fine."""
        with gone_or_going():
            container.remove(force=True)
        for name in volumes:
            self.remove_volume(name)

    def shipped_files(self, image: str, paths: Iterable[str]) -> dict[str, list[str]] | None:
        """The files `image` itself has under each of `paths` (read from a container created and never started, so
        nothing is mounted over them); None if the engine would not say."""
        shipped: dict[str, list[str]] = {}
        # created apart from its `with`: a refused creation means "would not say", an error removing it does not
        try:
            reader = self.create_container(image, ["true"], "shipped-files", network_mode="none")
        except docker.errors.APIError:
            return None
        with self.removing(reader):
            try:
                for path in paths:
                    archive = self.scratch_file("shipped.tar")
                    try:
                        found = save_archive(reader, path, archive)
                        shipped[path] = [name for name, size in listing(archive).items() if size is not None] \
                            if found else []
                    finally:
                        archive.unlink(missing_ok=True)
            except (docker.errors.APIError, requests.exceptions.RequestException, tarfile.TarError, OSError):
                return None
        return shipped

    def scratch_file(self, name: str) -> Path:
        """A path in this run's scratch directory that nothing else uses."""
        return self.scratch / self.new_name(f"file-{name}", creating=False)

    def watch_deaths(self) -> None:
        """Notes each of the run's containers as it dies. Docker gives an address a dead container released to the
        next container on the network at once, so an answer from a dead server's address may be another's: runs
        at once start servers while others die, and an answer that arrives after its server died is not taken."""
        self._events = self.client.events(decode=True, filters={
            "label": f"{RUN_LABEL}={self.run_id}", "type": "container", "event": "die"})

        def watch() -> None:
            with contextlib.suppress(Exception):  # the stream ends when the run closes it
                for event in self._events:
                    self.died.add(str(event.get("id") or (event.get("Actor") or {}).get("ID")))

        threading.Thread(target=watch, name="byoc-events", daemon=True).start()

    def close(self) -> None:
        """The end of the run: its scratch directory goes, and so does the reaper it no longer needs."""
        if self._events is not None:
            with contextlib.suppress(Exception):
                self._events.close()
        shutil.rmtree(self.scratch, ignore_errors=True)
        if self.reaper is not None:
            self.reaper.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.reaper.wait(timeout=5)

    def sweep(self) -> int:
        """Remove everything this run created that is still there; returns how many objects."""
        return remove_labelled(self.client, {"label": f"{RUN_LABEL}={self.run_id}"})

    def start_reaper(self) -> None:
        """A process that removes this run's objects and scratch if the harness dies without doing it."""
        self.reaper = subprocess.Popen(
            [sys.executable, "-m", "byoc_conformance.reaper", str(os.getpid()), self.run_id, str(self.scratch)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def client_from_env() -> docker.DockerClient:
    """The engine DOCKER_HOST (and DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) names, as docker-py reaches it. With TLS,
    the engine's CA must be the one trusted: requests takes REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, which many CI
    images set, over the CA docker-py gives it (psf/requests#3829), and the engine's certificate then fails."""
    tls = bool(os.environ.get("DOCKER_TLS_VERIFY"))
    hidden = {name: os.environ.pop(name) for name in CA_BUNDLE_VARIABLES if tls and name in os.environ}
    try:
        client = docker.from_env(timeout=API_TIMEOUT)  # asks the engine its API version
    finally:
        os.environ.update(hidden)
    # No later call reads the environment: requests would look up proxies (and CA bundles) in os.environ on every
    # call, from the runs' threads while pytest rewrites PYTEST_CURRENT_TEST (a KeyError seen in CI), and would send
    # a tcp:// engine's calls through an HTTP proxy.
    client.api.trust_env = False
    return client


def engine_host(docker_host: str | None) -> str | None:
    """The host of a remote engine as DOCKER_HOST names it (tcp://HOST:2376, ssh://user@HOST), where the ports
    it publishes are reached; None for a local one (unset, unix://, npipe://)."""
    if not docker_host or docker_host.startswith(("unix://", "npipe://", "fd://")):
        return None
    parsed = urllib.parse.urlsplit(docker_host if "://" in docker_host else f"tcp://{docker_host}")
    return parsed.hostname if parsed.scheme in ("tcp", "ssh", "http", "https") else None


@dataclass(frozen=True)
class Process:
    """A process of a container as the engine's `ps` shows it."""

    user: str  # as the engine's host names the user ID: root for 0 on any Linux, else a name or the number
    command: str

    @property
    def root(self) -> bool:
        return self.user in ("root", "0")


def processes(container: Container, columns: str) -> list[dict[str, str]] | None:
    """The container's processes as `ps -o COLUMNS` rows, by column title, read through the engine (`docker
    top`), so the image needs no tools; None if the engine's `ps` cannot tell, or the container is gone."""
    try:
        top = container.top(ps_args=f"-o {columns}")
        return [dict(zip(top["Titles"], row)) for row in top["Processes"]]
    except (docker.errors.APIError, requests.exceptions.RequestException, KeyError, ValueError, TypeError):
        return None


def pid1_columns(container: Container, columns: str) -> dict[str, str] | None:
    """The `ps -o COLUMNS` row of the container's PID 1 (see processes); None if it cannot be told."""
    try:
        container.reload()
        pid = str(container.attrs["State"]["Pid"])
    except (docker.errors.APIError, requests.exceptions.RequestException, KeyError):
        return None
    return next((row for row in processes(container, columns) or [] if row.get("PID") == pid), None)


def memory_in_use(container: Container) -> int | None:
    """Bytes of memory the container uses, as `docker stats` counts it (its cgroup's usage less the page cache
    it could drop); None if the engine does not say."""
    try:
        try:
            stats = container.stats(stream=False, one_shot=True)["memory_stats"]  # one reading, not two a second apart
        except docker.errors.InvalidVersion:
            stats = container.stats(stream=False)["memory_stats"]
        usage, detail = int(stats["usage"]), stats.get("stats") or {}
    except (docker.errors.APIError, requests.exceptions.RequestException, KeyError, TypeError, ValueError):
        return None
    cache = detail.get("inactive_file", detail.get("total_inactive_file", 0))  # cgroup v2, v1
    return max(0, usage - int(cache))


DOCKER_DNS = "127.0.0.11"  # Docker's resolver listens here in every container on a user-defined network


def exit_code(container: Container) -> int | None:
    """The exit code of a container that has ended, else None (its state read anew from the engine)."""
    container.reload()
    if container.status in ("exited", "dead"):
        return int(container.attrs["State"]["ExitCode"])
    return None


def pid1_process(container: Container) -> Process | None:
    """The container's PID 1: its user and command. The columns are ones BusyBox's ps has too (docker:dind)."""
    row = pid1_columns(container, "pid,user,args")
    return Process(row["USER"], row.get("COMMAND", "")) if row and "USER" in row else None


REMOVAL_RETRY = 0.2  # seconds between looks at what was on its way out


def remove_labelled(client: docker.DockerClient, selector: dict[str, Any], patience: float = 15.0, *,
                    looks: Poll | None = None) -> int:
    """Removes the containers, volumes and networks that match a label filter; returns how many. What is still
    in use (a network or volume held by a container that another of the run's threads is removing at this moment)
    is looked for again until none is left or `patience` seconds have passed (`looks`, given in unit tests)."""
    removed = 0

    def one_pass() -> tuple[int, int]:
        """Removes what is listed: how many were listed, and how many of them went."""
        nonlocal removed
        # a container removed between the listing and its inspection is skipped, not an error
        listed = [(c, {"force": True}) for c in client.containers.list(all=True, filters=selector, ignore_removed=True)]
        listed += [(volume, {"force": True}) for volume in client.volumes.list(filters=selector)]
        listed += [(network, {}) for network in client.networks.list(filters=selector)]  # once their containers go
        before = removed
        for item, options in listed:
            try:
                with gone_or_going():
                    item.remove(**options)
                    removed += 1
            except docker.errors.APIError as error:
                if error.status_code != 403:  # 403: a network with endpoints still attached, tried again
                    raise
        return len(listed), removed - before

    def cleared() -> bool:
        """One look: passes while each removes all it lists (the next may list what came meanwhile), until one
        lists nothing (True) or leaves something on its way out (False: given a moment, looked at again)."""
        while True:
            listed, gone = one_pass()
            if not listed:
                return True
            if gone < listed:
                return False

    for _ in (looks or Poll(patience, REMOVAL_RETRY)).looks_judged_after():
        if cleared():
            break
    return removed


@contextlib.contextmanager
def gone_or_going() -> Iterator[None]:
    """A removal of what is gone already, or being removed at this moment by another of the run's threads (409
    Conflict), is no error."""
    try:
        yield
    except docker.errors.APIError as error:
        if error.status_code not in (404, 409):
            raise


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


def save_archive(container: Container, path: str, destination: Path) -> bool:
    """Streams `path` in a container, as a tar archive (its top entry named after the last part of `path`), to
    `destination`; False if it does not exist."""
    try:
        stream, _ = container.get_archive(path, chunk_size=MIB)
    except docker.errors.NotFound:
        return False
    with destination.open("wb") as file:
        for chunk in stream:
            file.write(chunk)
    return True


def listing(archive: Path) -> dict[str, int | None]:
    """The files in an archive from save_archive, by path below its top entry: their sizes (None: not a
    regular file). Only the headers are read."""
    with tarfile.open(archive) as tar:
        return {_below_top(member.name): member.size if member.isfile() else None
                for member in tar if not member.isdir()}


def files_in(archive: Path, cap: int = FILE_CAP) -> dict[str, bytes | None]:
    """The files in an archive from save_archive with the first `cap` bytes of each (None: not a regular file)."""
    files: dict[str, bytes | None] = {}
    with tarfile.open(archive) as tar:
        for member in tar:
            if member.isdir():
                continue
            extracted = tar.extractfile(member) if member.isfile() else None
            files[_below_top(member.name)] = extracted.read(cap) if extracted else None
    return files


def _below_top(name: str) -> str:
    return name.partition("/")[2] or name


def save_logs(container: Container, destination: Path) -> str:
    """Streams a container's whole log (stdout and stderr) to `destination` and returns what the harness keeps
    of it in memory: all of it up to LOG_HEAD + LOG_TAIL bytes, else its first and last parts around a line
    that says how much was left out."""
    with destination.open("wb") as file:
        for chunk in container.logs(stdout=True, stderr=True, stream=True, follow=False):
            file.write(chunk)
    return bounded_text(destination)


def bounded_text(path: Path) -> str:
    size = path.stat().st_size
    with path.open("rb") as file:
        if size <= LOG_HEAD + LOG_TAIL:
            return file.read().decode("utf-8", "replace")
        head = file.read(LOG_HEAD).rpartition(b"\n")[0]
        file.seek(size - LOG_TAIL)
        tail = file.read().partition(b"\n")[2]
    left_out = size - len(head) - len(tail)
    return (head.decode("utf-8", "replace") + f"\n[... {left_out} bytes of log left out here; the whole log had "
            f"{size} bytes ...]\n" + tail.decode("utf-8", "replace"))


def lines_of(path: Path) -> Iterator[str]:
    """A file's lines, read as they are needed."""
    with path.open("rb") as file:
        while line := file.readline(LOG_HEAD):  # a line longer than this comes in parts
            yield line.decode("utf-8", "replace")


def file_digests(archive: Path) -> dict[str, str]:
    """Each entry of an archive from save_archive (but directories), by path below its top entry: a digest of its
    kind and content."""
    digests = {}
    with tarfile.open(archive) as tar:
        for member in tar:
            if member.isdir():
                continue
            digest = hashlib.sha256()
            extracted = tar.extractfile(member) if member.isfile() else None
            while extracted and (chunk := extracted.read(1 << 20)):
                digest.update(chunk)
            if not member.isfile():
                digest.update(f"{member.type!r}:{member.linkname}".encode())
            digests[_below_top(member.name)] = digest.hexdigest()
    return digests


def content_digest(archive: Path) -> str:
    """A digest of what an archive from save_archive holds: each entry's path, kind and content, in order of
    path, so that two runs that left the same files compare equal."""
    entries = [f"{path}\0{digest}" for path, digest in file_digests(archive).items()]
    return hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()

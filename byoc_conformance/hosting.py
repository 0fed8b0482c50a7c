"""Real-time hosting as SageMaker runs it (SERVE-01..13): `docker run IMAGE serve` with the model of this
run's training packed into model.tar.gz and extracted read-only at /opt/ml/model, reached where the engine
says (engine.Engine.address)."""

from __future__ import annotations

import dataclasses
import ipaddress
import shlex
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors
import requests

from . import exchange
from .declaration import CsvLayout
from .engine import Engine, Process, exit_code, pid1_process, save_logs
from .model import Model, extract_for_reproduction, pack_store, rooted
from .options import RunOptions
from .outcome import CouldNotRun
from .payloads import Payload, Traffic, example_csv, grown, large_csv
from .plan import Plan, planned, planned_alone
from .progress import WAITS
from .verdicts import Request
from .waiting import Poll

PORT = 8080


@dataclass(frozen=True)
class Stage:
    """A container of an inference pipeline after the image under test: its image, its labels and its model.tar.gz
    (--byoc-pipeline; see pipeline.py)."""

    image: str
    labels: dict[str, str]
    model: Path

PING_TIMEOUT = 2.0  # SageMaker gives each /ping 2 s (SERVE-04)
INVOCATION_TIMEOUT = 70.0  # the model has 60 s (SERVE-07); AWS tells clients to wait 70
STOP_GRACE = 30.0  # SIGTERM, then SIGKILL 30 s later (SERVE-13)
POLL_INTERVAL = 0.1
GATE_PATIENCE = 10.0  # how long requests sent together wait for their connections to open before going anyway
NO_ANSWER_IN_TIME = f"no answer within {PING_TIMEOUT:.0f} s"
NO_CONNECTION = "no connection"  # refused or reset: nothing listening yet, so no evidence about /ping


def invocation(body: bytes, name: str, content_type: str = "text/csv",
               extra_headers: dict[str, str] | None = None) -> Request:
    """POST /invocations as a client sends it, asking for CSV back; `name` is the file its body is saved as."""
    headers = {"Content-Type": content_type, "Accept": "text/csv", **(extra_headers or {})}
    return Request(name, "POST", "/invocations", body, headers)


SHARED_MODEL = "shared"  # /opt/ml/model read-only, from the volume every such server shares
OWN_MODEL = "own"  # /opt/ml/model writable, a copy of its own
MODEL_STORE = "store"  # a multi-model endpoint's /opt/ml/models (read-only), each model under <name>/model
MOUNT_POINTS = {SHARED_MODEL: "/opt/ml/model", OWN_MODEL: "/opt/ml/model", MODEL_STORE: "/opt/ml/models"}


@dataclass(frozen=True)
class Endpoint:
    """A `serve` container as SageMaker would start it for one probe, as data; Server runs it."""

    role: str  # names the container, its log and its reproduction
    environment: dict[str, str] = field(default_factory=dict)  # on top of the model's (Hosting.environment)
    port: int = PORT  # where the server is expected to listen
    model: str = SHARED_MODEL  # how the model is given: SHARED_MODEL, OWN_MODEL or MODEL_STORE
    # Another image than the one under test (a pipeline's next container), with a model.tar.gz of its own.
    image: str | None = None
    model_archive: Path | None = None
    published: tuple[int, ...] = ()  # more ports to publish: those of containers that will share its network
    # Resources and privileges (a serverless profile); None: the run's limits, root, a writable filesystem.
    memory_mb: int | None = None  # memory, swap included
    cpus: float | None = None
    user: str | None = None  # "uid:gid"

    @property
    def read_only(self) -> bool:
        return self.model != OWN_MODEL

    @property
    def mount_point(self) -> str:
        return MOUNT_POINTS[self.model]

    def create_options(self, engine: Engine) -> dict[str, Any]:
        """The container's resource and privilege options: the run's limits unless this endpoint sets its own."""
        options = engine.limits()
        if self.memory_mb is not None:
            options.update(mem_limit=f"{self.memory_mb}m", memswap_limit=f"{self.memory_mb}m")
        if self.cpus is not None:
            options["nano_cpus"] = int(self.cpus * 1e9)
        if self.user is not None:
            options["user"] = self.user
        return options

    def run_options(self) -> str:
        """The same as `docker run` options, for a reproduction (empty without a profile)."""
        memory = f" --memory {self.memory_mb}m --memory-swap {self.memory_mb}m" if self.memory_mb else ""
        cpus = f" --cpus {self.cpus:g}" if self.cpus else ""
        user = f" --user {self.user}" if self.user else ""
        return memory + cpus + user


@dataclass
class Stop:
    """A healthy server sent SIGTERM: how long it took to exit, or None if it outlived SageMaker's grace."""

    server: Server
    seconds: float | None


class ServerGone(requests.ConnectionError):
    """The server's container died: nothing is sent to its address, and no answer from it is taken as its own."""


class Server:
    """One `serve` container and the HTTP session the probes share with it. Its address comes from the engine:
    the container's own address on the run's internal network, or a published port at the engine's host."""

    def __init__(self, engine: Engine, image: str, endpoint: Endpoint, model: Path, *,
                 model_volume: str | None = None, invocation_timeout: float = INVOCATION_TIMEOUT,
                 beside: Server | None = None) -> None:
        self.engine, self.image, self.endpoint, self.model = engine, image, endpoint, model
        # The server whose network namespace this one joins (as a pipeline's containers share one host), and
        # through whose published ports it is reached.
        self.beside = beside
        self.invocation_timeout = invocation_timeout
        self.label = f"`serve` container ({self.role})"
        self.session = exchange.session()
        self.address: tuple[str, int] | None = None
        self.started = 0.0
        self.healthy_after: float | None = None
        self.exit_code: int | None = None
        self.start_error: str | None = None
        self.last_ping = "no answer yet"
        self.pings: Counter[str] = Counter()  # how each /ping of the start-up window went
        # The first request not answered in time, and how: later ones are not sent.
        self.unanswered: tuple[Request, str] | None = None
        self.log_file = engine.scratch_file(f"{self.role}-log")  # the whole log, rewritten each time it is read
        self.final_logs: str | None = None  # kept when the container is removed
        # A read-only server mounts a volume the servers share; one that may write gets its own copy.
        self.own_volume = None if (self.read_only and model_volume) else engine.volume(f"{self.role}-model")
        if self.own_volume:
            fill_model_volume(engine, image, self.own_volume, model)
        self.container = engine.create_container(
            image, ["serve"], role=self.role,
            mounts=[engine.mount(self.own_volume or str(model_volume), endpoint.mount_point,
                                 read_only=self.read_only)],
            environment=self.environment,
            **({"network_mode": f"container:{beside.container.id}"} if beside
               else engine.serving_network(self.port, *endpoint.published)),
            **endpoint.create_options(engine),
        )

    @property
    def role(self) -> str:
        return self.endpoint.role

    @property
    def environment(self) -> dict[str, str]:
        return self.endpoint.environment

    @property
    def port(self) -> int:
        return self.endpoint.port

    @property
    def read_only(self) -> bool:
        return self.endpoint.read_only

    def start(self, startup_timeout: float) -> Server:
        """Starts the container and polls /ping until it answers 200, the container exits, or the window ends."""
        try:
            self.container.start()
        except docker.errors.APIError as error:
            self.start_error = str(error.explanation or error)
            return self
        self.started = time.monotonic()
        with WAITS.waiting(f"the {self.label} to answer /ping 200", startup_timeout, lambda: self.last_ping):
            return self._poll_ping(Poll(startup_timeout, POLL_INTERVAL))

    def _poll_ping(self, window: Poll) -> Server:
        """Looks (pings, once the engine gives the address) until /ping answers 200 or the container exits. The
        window counts from the start, and is judged after each look: one that ends inside it is followed by
        another."""
        for _ in window.looks_judged_after(since=self.started):
            if self.address is None:
                self.address = self.engine.address((self.beside or self).container, self.port)
            if self.address is not None:
                self.last_ping, response = self.ping()
                self.pings[NO_CONNECTION if self.last_ping.startswith("no answer (") else self.last_ping] += 1
                if self.last_ping == "HTTP 200":
                    self.healthy_after = window.clock() - self.started
                    return self
            if self.exited():  # a container that exits at once has no address: its exit code is the outcome
                return self
        return self

    def died(self) -> bool:
        """Whether the engine said the container died: its address may be another container's by now."""
        return self.container.id in self.engine.died

    def exchange(self, method: str, path: str, *, deadline: float, client: requests.Session | None = None,
                 **options: Any) -> exchange.Answer:
        """One exchange with this server (exchange.exchange), never with a container that took its address: none
        is sent once it died, and an answer that comes after it died is refused (ServerGone)."""
        if self.died():
            raise ServerGone(f"not sent: the {self.label} has exited")
        response = exchange.exchange(client or self.session, method, self.url(path), deadline=deadline, **options)
        if self.died():
            raise ServerGone(f"the {self.label} exited before its answer could be taken as its own")
        return response

    def ping(self) -> tuple[str, exchange.Answer | None]:
        """GET /ping within SageMaker's 2 s: "HTTP <status>", or why there was no usable answer."""
        try:
            response = self.exchange("GET", "/ping", deadline=PING_TIMEOUT, cap=exchange.PING_BODY_CAP)
        except ServerGone:
            return "no answer (the container has exited)", None
        except requests.ConnectTimeout:  # no connection (the container is gone, say): nothing to judge /ping by
            return "no answer (ConnectTimeout)", None
        except requests.Timeout:
            return NO_ANSWER_IN_TIME, None
        except requests.RequestException as error:
            return f"no answer ({type(error).__name__})", None
        if response.truncated:
            return f"HTTP {response.status_code} with a body over {exchange.PING_BODY_CAP} bytes (cut there)", response
        return f"HTTP {response.status_code}", response

    def failed_pings(self) -> dict[str, int]:
        """The start-up pings that reached a server and were not answered 200 within 2 s: evidence against
        SERVE-04 (a refused connection is not: nothing was listening yet)."""
        return {outcome: n for outcome, n in self.pings.items() if outcome not in ("HTTP 200", NO_CONNECTION)}

    def exited(self) -> bool:
        code = exit_code(self.container)
        if code is not None:
            self.exit_code = code
        return code is not None

    @property
    def reachable_at(self) -> tuple[str, int]:
        """Where this host reaches the server, as the engine gives it."""
        return self.address or (self.engine.host_address, self.port)

    def connection_times(self, count: int, deadline: float, bursts: int) -> list[list[float | None]]:
        """For each of `bursts` bursts, how long each of `count` TCP connections opened at once took to be
        accepted (None: not within `deadline` seconds); see exchange.burst_times."""
        return exchange.burst_times(*self.reachable_at, count, deadline, bursts)

    def proxied(self) -> bool | None:
        """Whether a proxy on the engine's host accepts connections for this server (see Engine.proxied)."""
        return self.engine.proxied(self.container)

    def pid1(self) -> Process | None:
        """The server's PID 1 as the engine's `ps` shows it (its user, its command); None if it cannot tell."""
        return pid1_process(self.container)

    def url(self, path: str) -> str:
        host, port = self.reachable_at
        return f"http://{host}:{port}{path}"

    def send(self, request: Request, **options: Any) -> exchange.Answer:
        """The whole answer to `request` within the invocation deadline, its body read up to exchange.BODY_CAP
        (`options` may change how it goes: its body in pieces, a larger cap). After one request went unanswered in
        time, none is sent: each would wait the whole deadline again."""
        if self.unanswered is not None:
            raise exchange.DeadlineExceeded(f"not sent: {self.unanswered[0].name}: {self.unanswered[1]}")
        try:
            return self.exchange(request.method, request.path, deadline=self.invocation_timeout,
                                 **{"data": request.body, "headers": request.headers, **options})
        except exchange.DeadlineExceeded as error:
            self.unanswered = request, str(error)
            raise

    def send_together(self, request: Request, count: int) -> list[exchange.Answer | requests.RequestException]:
        """`count` copies of `request` in flight at once, as SageMaker sends them, each on a new connection. The
        connections are opened one after another before any request goes (exchange.Gate): how a server takes a
        burst of connections is SERVE-03's evidence, not the requests'."""
        gate = exchange.Gate(count, patience=GATE_PATIENCE)

        def send_one(_: int) -> exchange.Answer | requests.RequestException:
            try:
                return self.send(request, client=client, gate=gate)
            except requests.RequestException as error:
                return error

        with exchange.session(count) as client, ThreadPoolExecutor(count) as pool:
            return list(pool.map(send_one, range(count)))

    @property
    def logs(self) -> str:
        if self.final_logs is not None:
            return self.final_logs
        try:
            return save_logs(self.container, self.log_file)
        except docker.errors.NotFound:
            return ""

    def outcome(self) -> str:
        if self.start_error:
            return f"`serve` could not start: {self.start_error}"
        if self.healthy_after is not None:
            return f"/ping answered 200 {self.healthy_after:.2f} s after start"
        if self.exit_code is not None:
            return f"the container exited with code {self.exit_code} before /ping answered 200 (last: {self.last_ping})"
        return f"/ping did not answer 200 within the start-up window (last: {self.last_ping})"

    def remove(self) -> None:
        self.final_logs = self.logs
        self.engine.remove(self.container, [self.own_volume] if self.own_volume else [])

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *raised: object) -> None:
        """The server is removed when its `with` block ends, however it ends (an error, Ctrl-C)."""
        self.remove()

    def require_healthy(self) -> None:
        if self.healthy_after is None:
            raise CouldNotRun(f"the server never became healthy: {self.outcome()}", run=self)

    def reproduce(self, repro_dir: Path) -> str:
        """Saves the model under repro_dir and returns the commands that start this server by hand."""
        where = (repro_dir / self.role).resolve()
        shutil.rmtree(where, ignore_errors=True)
        (where / "model").mkdir(parents=True)
        left_out = extract_for_reproduction(self.model, where / "model")
        mode = ":ro" if self.read_only else ""
        target = self.endpoint.mount_point
        environment = "".join(f" -e {shlex.quote(f'{k}={v}')}" for k, v in self.environment.items())
        note = f"# left out of {where}/model, as they lead out of it: {', '.join(left_out)}\n" if left_out else ""
        if self.beside:  # its network is that of the container beside it, which is started first
            note = f"{self.beside.reproduce(repro_dir)}\n{note}"
            network = f"--network container:byoc-repro-{self.beside.role}"
        else:
            network = " ".join(self.engine.publish_option(port) for port in (self.port, *self.endpoint.published))
        return (
            f"{note}docker run -d --rm --name byoc-repro-{self.role} {network}"
            f"{environment}{self.endpoint.run_options()} \\\n"
            f"    -v {shlex.quote(f'{where}/model:{target}{mode}')} {shlex.quote(self.image)} serve\n"
            f"until curl -fsS http://{self.engine.host_address}:{self.port}/ping; do sleep 0.5; done"
        )


LOADER_MOUNT = "byoc-model"  # where the loader container mounts the volume it fills


def fill_model_volume(engine: Engine, image: str, volume: str, model: Path) -> None:
    """Extracts model.tar.gz (or a model store's tar) into a volume, as SageMaker's tar extracts it into
    /opt/ml/model: links kept as links, even a relative symlink that climbs out of the model. The engine unpacks
    the tar, streamed from disk with every member under the volume's mount point and put at / (model.rooted):
    put at the mount point, the engine refuses such a link (`invalid symlink`)."""
    with engine.container(image, ["serve"], role="model-loader", mounts=[engine.mount(volume, f"/{LOADER_MOUNT}")],
                          **engine.limits()) as loader:
        loader.put_archive("/", rooted(model, LOADER_MOUNT))


class Probing:
    """The valid requests a prober sends, as the declaration says the image takes them (`traffic`, and `csv`, the
    declared layout): Hosting's, and any stand-in's that has those two."""

    csv: CsvLayout
    traffic: Traffic

    def valid_payload(self, rows: int = 2) -> Payload:
        """A valid request body, as the declaration says the image takes them: CSV generated from the declared layout
        when it takes text/csv, else its declared sample request."""
        if self.traffic.takes_csv:
            return example_csv(self.csv.feature_ranges, rows)
        if self.traffic.sample is None:
            raise CouldNotRun("the declaration's SupportedContentTypes do not list text/csv, and it gives no sample "
                               "request for them (byoc-conformance.invocations), so no valid request can be sent")
        return self.traffic.sample

    def sized_payload(self, size: int) -> Payload:
        """A valid request body of just under `size` bytes: CSV rows, or the declared sample grown to that size."""
        if self.traffic.takes_csv:
            return large_csv(self.csv.feature_ranges, size)
        sample = self.valid_payload()
        grown_sample = grown(sample, size)
        if grown_sample is None:
            raise CouldNotRun(f"no body of {size} bytes can be built from the declared {sample.content_type} "
                               "sample (JSON samples are grown; other types are sent as given)")
        return grown_sample

    def request(self, payload: Payload, name: str, extra_headers: dict[str, str] | None = None) -> Request:
        """The payload as POST /invocations, asking for what the image declares it answers (text/csv when it
        does)."""
        return invocation(payload.body, name, payload.content_type, {"Accept": self.traffic.accept,
                                                                     **(extra_headers or {})})


class Hosting(Probing):
    """The serve containers the checks use: one shared by every probe that leaves the server as it found
    it, and fresh ones for probes that may break or stop it."""

    def __init__(self, engine: Engine, options: RunOptions, model: Callable[[], Model], *,
                 image_labels: dict[str, str] | None = None, image_size: int | None = None,
                 environment: dict[str, str] | None = None, other_model: Callable[[], Model] | None = None,
                 pipeline: tuple[Stage, ...] = (), plan: Plan | None = None) -> None:
        self.engine, self.image = engine, options.hosting_image
        self.image_labels = image_labels or {}
        self.image_size = image_size  # bytes, uncompressed, as the engine reports the image
        self.environment = environment or {}  # the model's environment: in script mode, what the SDK sets
        self.plan = plan or Plan()
        self.csv = options.declaration.csv  # the declared CSV layout: /invocations payloads carry its feature columns
        self.traffic = options.declaration.traffic  # what the /invocations probes send and ask for
        self._model_source = model
        self._other_model_source = other_model  # a second model, trained on other data (multi-model endpoints)
        self.pipeline = pipeline  # --byoc-pipeline: the containers after this image's in a pipeline
        self.seed = options.seed  # hypothesis seed, shown in the header
        serving = options.serving
        self.serverless_mb = serving.serverless_mb  # --byoc-serverless: the memory size of the serverless profile
        self.async_payload_mb = serving.async_payload_mb  # ASYNC-01's request body, in MiB
        self.startup_timeout = serving.startup_timeout
        self.examples = serving.examples  # generated payloads per property probe
        self.batch_input_mb = serving.batch_input_mb  # size of the input file of the batch transform checks
        self.invocation_timeout = serving.invocation_timeout  # for the whole answer to one request

    @planned
    def model(self) -> Model:
        return self._model_source()

    @planned
    def other_model(self) -> Model:
        if self._other_model_source is None:
            return Model(None, missing="only one model is at hand (no training)")
        return self._other_model_source()

    @planned
    def model_store(self) -> tuple[str, Path, list[str]]:
        """A multi-model endpoint's /opt/ml/models, filled once: the model as `a`, and the other model as `b`
        when there is one. Returns the volume, its tar and the names in it."""
        models = {"a": self._model_archive()}
        if self.other_model.tar_gz is not None:
            models["b"] = self.other_model.tar_gz
        archive = pack_store(models, self.engine.scratch_file("model-store.tar"))
        volume = self.engine.volume("model-store")
        fill_model_volume(self.engine, self.image, volume, archive)
        return volume, archive, list(models)

    def _model_archive(self) -> Path:
        if self.model.tar_gz is None:
            raise CouldNotRun(f"no model to serve: {self.model.missing}")
        return self.model.tar_gz

    @planned
    def model_volume(self) -> str:
        """The model extracted once into a volume that every read-only server mounts."""
        volume = self.engine.volume("model")
        fill_model_volume(self.engine, self.image, volume, self._model_archive())
        return volume

    def server(self, endpoint: Endpoint, beside: Server | None = None) -> Server:
        """The one way a `serve` container is made: `endpoint` with this image, its model and its environment (or
        with the image and model the endpoint names), in a network of its own or in that of the server `beside`."""
        if endpoint.model_archive is not None:  # a model of its own (the image under test may follow itself)
            return Server(self.engine, endpoint.image or self.image, endpoint, endpoint.model_archive, beside=beside,
                          invocation_timeout=self.invocation_timeout)
        if endpoint.image not in (None, self.image):
            raise ValueError(f"{endpoint.role}: another image than the one under test needs a model of its own")
        endpoint = dataclasses.replace(endpoint, environment={**self.environment, **endpoint.environment})
        if endpoint.model == MODEL_STORE:
            volume, archive, _ = self.model_store
            return Server(self.engine, self.image, endpoint, archive, model_volume=volume,
                          invocation_timeout=self.invocation_timeout)
        return Server(self.engine, self.image, endpoint, self._model_archive(),
                      model_volume=self.model_volume if endpoint.read_only else None,  # type: ignore[arg-type]
                      invocation_timeout=self.invocation_timeout, beside=beside)

    @planned_alone
    def shared(self) -> Server:
        return self.server(Endpoint("serve")).start(self.startup_timeout)

    def healthy(self) -> Server:
        """The shared server, once /ping answers 200; checks that need one are inconclusive without."""
        self.shared.require_healthy()
        return self.shared

    def require_csv(self) -> None:
        """The probes that need records (a batch file split by line, a stream answered row by row, a pipeline's
        generated payloads) send and ask for text/csv: an image declared without it both ways is not judged there."""
        if not self.traffic.speaks_csv:
            raise CouldNotRun("this probe sends and asks for text/csv records (a batch file split by line, a stream "
                               "answered row by row, a pipeline's generated payloads), which the declaration's "
                               "SupportedContentTypes and SupportedResponseMIMETypes do not both list")

    def start_fresh(self, endpoint: Endpoint, window: float | None = None) -> Server:
        """A server of its own, kept until the end of the session (when the run's sweep removes it), given
        `window` seconds to become healthy."""
        if window is None:
            # The same image and model became healthy in t seconds on the shared server: a fresh one gets
            # max(30 s, 3 t), not the whole start-up window, before it counts as not starting.
            healthy_after = self.shared.healthy_after
            window = min(self.startup_timeout, max(30.0, 3 * healthy_after)) if healthy_after else self.startup_timeout
        return self.server(endpoint).start(window)

    @planned
    def stopped_by_sigterm(self) -> Stop:
        """A fresh healthy server sent SIGTERM, as endpoint updates and scale-in do (SERVE-13, IMG-03). It runs beside
        other runs: SageMaker's 30 s are 30 to 50 times what a server that handles SIGTERM takes, so only a server
        that takes most of them alone could be moved past them by its neighbours."""
        self.healthy()
        with self.fresh(Endpoint("serve-sigterm")) as server:
            server.require_healthy()
            sent = time.monotonic()
            server.container.kill("SIGTERM")
            try:
                server.container.wait(timeout=STOP_GRACE)
                seconds: float | None = time.monotonic() - sent
            except requests.RequestException:
                seconds = None
            server.exited()
            return Stop(server, seconds)

    @contextmanager
    def fresh(self, endpoint: Endpoint, window: float | None = None) -> Iterator[Server]:
        """A server of its own for one probe, removed after it."""
        with self.start_fresh(endpoint, window) as server:
            yield server

    def listening_sockets(self, server: Server) -> list[tuple[str, int]] | None:
        """The server's listening TCP sockets as (address, port), read from /proc/net/tcp* by a `cat` run in
        its network namespace; None if the image cannot do that."""
        with self.engine.container(
            self.image, ["/proc/net/tcp", "/proc/net/tcp6"], role=f"{server.role}-sockets", entrypoint=["cat"],
            network_mode=f"container:{server.container.id}", **self.engine.limits(),
        ) as reader:
            try:
                reader.start()
                reader.wait(timeout=30)
                table = reader.logs(stdout=True, stderr=False, tail=10000).decode("utf-8", "replace")
            except (docker.errors.APIError, requests.RequestException):
                return None
        return parse_listening(table) if "local_address" in table else None


def parse_listening(table: str) -> list[tuple[str, int]]:
    """(address, port) of the LISTEN entries (state 0A) in /proc/net/tcp and /proc/net/tcp6 text."""
    listening = []
    for line in table.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A" and ":" in fields[1]:
            address, port = fields[1].split(":")
            # The kernel prints each 32-bit word of the address in host (little-endian) byte order.
            raw = b"".join(bytes.fromhex(address[i:i + 8])[::-1] for i in range(0, len(address), 8))
            listening.append((str(ipaddress.ip_address(raw)), int(port, 16)))
    return sorted(set(listening))

"""Serial inference pipelines (PIPE-01, PIPE-02, PIPE-04): the image under test first, then the images named with
--byoc-pipeline, started as SageMaker starts a pipeline model's containers on one instance: in one network namespace,
each told its own SAGEMAKER_BIND_TO_PORT and SAGEMAKER_SAFE_PORT_RANGE, each with its own model. The harness plays
SageMaker's part between them: each container's answer is the next one's request. The run (through_pipeline) reports
what happened, a PipelineRun; checks/pipeline.py judges it."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from . import model
from .engine import Engine, HarnessError
from .exchange import MIB
from .hosting import Endpoint, Hosting, Server, Stage, invocation  # Stage lives in hosting.py; pipeline.Stage is it
from .outcome import Unclaimed
from .payloads import large_csv, valid_csv
from .plan import planned_for
from .probing import Sent, generated
from .verdicts import Request

FIRST_PORT = 9080  # container N listens on FIRST_PORT + N - 1
FIRST_SAFE_PORT = 9200  # and may take a second port from its own 100, from FIRST_SAFE_PORT + 100 (N - 1)
MAX_CONTAINERS = 15  # CreateModel's Containers (PIPE-01)
BIND_TO_PORT_LABEL = "com.amazonaws.sagemaker.capabilities.accept-bind-to-port"
# The image alone, given another port as a pipeline gives it (PIPE-02, PIPE-03): a second port goes in the range.
ALTERNATE_PORT = 9090
SAFE_PORT_RANGE = (9100, 9199)
PASSAGES = 20  # generated CSV payloads sent through the pipeline
LARGE_INPUT = 4 * MIB  # within PIPE-04's limit itself: a container whose answer is no larger than its request keeps it
NOT_NAMED = ("no pipeline was named: --byoc-pipeline IMAGE[=MODEL] names the containers that follow the image under "
             "test")


def binds_to_port(labels: dict[str, str]) -> bool:
    """Whether an image's labels say it honours SAGEMAKER_BIND_TO_PORT, as a pipeline needs (PIPE-02)."""
    return labels.get(BIND_TO_PORT_LABEL) == "true"


def stages(engine: Engine, given: list[str]) -> tuple[Stage, ...]:
    """The --byoc-pipeline options (IMAGE or IMAGE=MODEL, a model directory or model.tar.gz), checked before anything
    starts: HarnessError for an image the engine does not have or a model it cannot use."""
    if len(given) + 1 > MAX_CONTAINERS:
        raise HarnessError(f"--byoc-pipeline names {len(given)} images: a pipeline has at most {MAX_CONTAINERS} "
                           "containers, the image under test among them")
    found = []
    for number, text in enumerate(given, 2):
        image, _, model_path = text.partition("=")
        if not image.strip():
            raise HarnessError(f"--byoc-pipeline {text!r}: name an image, as IMAGE or IMAGE=MODEL")
        labels = (engine.image(image).attrs.get("Config") or {}).get("Labels") or {}
        archive = engine.scratch_file(f"pipeline-{number}-model.tar.gz")
        if model_path:
            archive = model.from_path(Path(model_path), archive, option=f"--byoc-pipeline {image}=")
        else:  # no model of its own: an empty /opt/ml/model
            tarfile.open(archive, "w:gz").close()
        found.append(Stage(image, labels, archive))
    return tuple(found)


def port_of(number: int) -> int:
    return FIRST_PORT + number - 1


def environment_of(number: int) -> dict[str, str]:
    low = FIRST_SAFE_PORT + 100 * (number - 1)
    return {"SAGEMAKER_BIND_TO_PORT": str(port_of(number)), "SAGEMAKER_SAFE_PORT_RANGE": f"{low}-{low + 99}"}


def passed_on(hop: Sent) -> bool:
    """Whether a container's answer went on to the next container: a 2xx that was read whole."""
    return hop.ok and hop.response is not None and not hop.response.truncated


@dataclass
class Passage:
    """One request's way through the pipeline, as far as it went."""

    kind: str  # what was sent first
    # What each container was sent and what it answered (or why it did not), in the pipeline's order: hops[n - 1] is
    # container n's.
    hops: list[Sent]


@dataclass
class PipelineRun:
    """The pipeline's containers as they started, and the passages sent through them once every one answered /ping
    200 (none otherwise): the generated CSV payloads, then the large one (PIPE-04's), last."""

    servers: list[Server]  # in the pipeline's order, the image under test's first
    passages: list[Passage]

    def name(self, number: int) -> str:
        return f"container {number} ({self.servers[number - 1].image})"


@contextmanager
def started(hosting: Hosting, pipeline: tuple[Stage, ...], window: float) -> Iterator[list[Server]]:
    """The pipeline's containers, started in one network namespace (the first one's, which publishes every
    port), each given `window` seconds to answer /ping 200; removed afterwards."""
    count = len(pipeline) + 1
    with ExitStack() as stack:
        first = hosting.server(Endpoint("pipeline-1", environment=environment_of(1), port=port_of(1),
                                        published=tuple(port_of(n) for n in range(2, count + 1))))
        stack.callback(first.remove)
        servers = [first]
        for number, stage in enumerate(pipeline, 2):
            endpoint = Endpoint(f"pipeline-{number}", environment=environment_of(number), port=port_of(number),
                                image=stage.image, model_archive=stage.model)
            server = hosting.server(endpoint, beside=first)
            stack.callback(server.remove)
            servers.append(server)
        # The followers start once the first runs: they join its network namespace.
        for server in servers:
            server.start(window)
        yield servers


def pass_through(servers: list[Server], request: Request, kind: str) -> Passage:
    """`request` sent to the first container, and each 2xx answer on to the next, as SageMaker does."""
    hops: list[Sent] = []
    for number, server in enumerate(servers, 1):
        try:
            answer = server.send(request)
        except requests.RequestException as error:
            hops.append(Sent(request, error=f"{type(error).__name__}: {error}"))
            break
        hop = Sent(request, response=answer)
        hops.append(hop)
        if not passed_on(hop):
            break
        content_type = answer.headers.get("Content-Type") or "text/csv"
        request = invocation(answer.content, f"pipeline-{number + 1}.payload", content_type)
    return Passage(kind, hops)


@planned_for
def through_pipeline(hosting: Hosting) -> PipelineRun:
    """The pipeline started once, sent the first generated CSV payloads and one of 4 MiB. Unclaimed without
    --byoc-pipeline; CouldNotRun, from the hosting, when the declaration does not speak CSV or the shared `serve` does
    not start (then no pipeline starts)."""
    if not hosting.pipeline:
        raise Unclaimed(NOT_NAMED)
    hosting.require_csv()
    hosting.healthy()  # a `serve` that does not start is judged on the shared server, without starting a pipeline
    payloads = generated(hosting, "valid CSV", valid_csv(hosting.csv.feature_ranges))[:PASSAGES]
    large = large_csv(hosting.csv.feature_ranges, LARGE_INPUT)
    with started(hosting, hosting.pipeline, hosting.startup_timeout) as servers:
        run = PipelineRun(servers, [])
        if all(server.healthy_after is not None for server in servers):
            for number, payload in enumerate([*payloads, large]):
                request = invocation(payload.body, f"pipeline-1-{number}.payload")
                run.passages.append(pass_through(servers, request, payload.kind))
    return run


@planned_for
def on_alternate_port(hosting: Hosting) -> tuple[Server, list[tuple[str, int]] | None]:
    """A fresh server told to serve on another port and where else it may listen, as an inference pipeline tells it
    (PIPE-02, PIPE-03), and its listening sockets once healthy (None: not read)."""
    hosting.healthy()  # else a failure on the other port says nothing about the label
    low, high = SAFE_PORT_RANGE
    environment = {"SAGEMAKER_BIND_TO_PORT": str(ALTERNATE_PORT), "SAGEMAKER_SAFE_PORT_RANGE": f"{low}-{high}"}
    with hosting.fresh(Endpoint("serve-bind-to-port", environment=environment, port=ALTERNATE_PORT)) as server:
        return server, hosting.listening_sockets(server) if server.healthy_after is not None else None

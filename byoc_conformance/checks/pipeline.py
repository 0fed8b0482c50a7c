"""Serial inference pipelines. The image alone, when its label says it takes SAGEMAKER_BIND_TO_PORT: it serves on that
port (PIPE-02) and takes any second port from SAGEMAKER_SAFE_PORT_RANGE (PIPE-03), judged on pipeline.on_alternate_port.
And, when --byoc-pipeline names the images that follow the one under test: each container on its
SAGEMAKER_BIND_TO_PORT in one network namespace (PIPE-02), requests answered end to end (PIPE-01), and what one
container hands the next within 5 MB (PIPE-04). A container that does not start fails PIPE-02 and leaves PIPE-01 and
PIPE-04 inconclusive (claims.py). Those checks judge the record of one run, pipeline.through_pipeline."""

from __future__ import annotations

from ..engine import DOCKER_DNS
from ..pipeline import (
    ALTERNATE_PORT,
    BIND_TO_PORT_LABEL,
    NOT_NAMED,
    SAFE_PORT_RANGE,
    PipelineRun,
    binds_to_port,
    on_alternate_port,
    passed_on,
    port_of,
    through_pipeline,
)
from ..probing import Sent
from ..registry import Context, check, on_hosting
from ..verdicts import Failed, Inconclusive, NotApplicable
from .claims import PIPELINE, claimed_run, require_started

PAYLOAD_LIMIT = 5_000_000  # bytes handed from one container to the next (PIPE-04's decision)


def _require_pipeline(ctx: Context) -> None:
    if not ctx.hosting.pipeline:
        raise NotApplicable(NOT_NAMED)


def _require_started(ctx: Context, requirement: str) -> PipelineRun:
    """The pipeline's run, once every container answered /ping 200. A container that did not (or the shared `serve`,
    needed first) fails PIPE-02 and leaves PIPE-01 and PIPE-04 inconclusive (claims.py)."""
    _require_pipeline(ctx)
    run = claimed_run(PIPELINE, requirement, lambda: through_pipeline(ctx.hosting))
    for number, server in enumerate(run.servers, 1):
        require_started(PIPELINE, requirement, server,
                        f"{run.name(number)} on SAGEMAKER_BIND_TO_PORT={port_of(number)}")
    return run


# --- the image's own port (PIPE-02, PIPE-03): judged on a server started with SAGEMAKER_BIND_TO_PORT ---------

def _binds_to_port(ctx: Context) -> bool:
    return binds_to_port(ctx.hosting.image_labels)


def _alternate_port_runs(ctx: Context) -> object:
    return on_alternate_port(ctx.hosting) if _binds_to_port(ctx) else None


@check("PIPE-02", "honours-sagemaker-bind-to-port", runs=(_alternate_port_runs,))
def honours_bind_to_port(ctx: Context) -> str:
    if not _binds_to_port(ctx):
        raise NotApplicable(f"the image does not carry the label {BIND_TO_PORT_LABEL}=true")
    server, _ = on_alternate_port(ctx.hosting)
    if server.healthy_after is None:
        raise Failed(f"with SAGEMAKER_BIND_TO_PORT={ALTERNATE_PORT}: {server.outcome()}",
                     expected=f"the image carries {BIND_TO_PORT_LABEL}=true, so it serves on the port "
                     "SAGEMAKER_BIND_TO_PORT names", run=server)
    return f"with SAGEMAKER_BIND_TO_PORT={ALTERNATE_PORT}: {server.outcome()}"


@check("PIPE-03", "second-port-in-safe-range", runs=(_alternate_port_runs,))
def second_port_in_safe_range(ctx: Context) -> str:
    if not _binds_to_port(ctx):
        raise NotApplicable(f"the image does not carry the label {BIND_TO_PORT_LABEL}=true: it is not run in "
                            "pipelines, where SAGEMAKER_SAFE_PORT_RANGE applies")
    server, listening = on_alternate_port(ctx.hosting)
    low, high = SAFE_PORT_RANGE
    given = f"SAGEMAKER_BIND_TO_PORT={ALTERNATE_PORT}, SAGEMAKER_SAFE_PORT_RANGE={low}-{high}"
    if server.healthy_after is None:
        raise Inconclusive(f"with {given}: {server.outcome()}, so its ports were not read", run=server)
    if listening is None:
        raise Inconclusive("the server's socket table could not be read (the image has no `cat` to read "
                           "/proc/net/tcp with)", run=server)
    listening = [(address, port) for address, port in listening if address != DOCKER_DNS]
    others = sorted({port for _, port in listening if port != ALTERNATE_PORT})
    if not others:
        raise NotApplicable(f"with {given}, nothing listens but port {ALTERNATE_PORT}: no second port")
    outside = [port for port in others if not low <= port <= high]
    if outside:
        shown = ", ".join(f"{address}:{port}" for address, port in listening if port in outside)
        raise Failed(f"with {given}, it also listens on {shown}",
                     expected=f"a second port taken from SAGEMAKER_SAFE_PORT_RANGE ({low}-{high}): the containers of "
                     "a pipeline share the host's ports", run=server,
                     reproduce=f"docker exec byoc-repro-{server.role} cat /proc/net/tcp /proc/net/tcp6  # 0A: LISTEN")
    return f"with {given}, its other port(s) {', '.join(map(str, others))} are in the range"


# --- the pipeline run end to end (PIPE-01, PIPE-02, PIPE-04) --------------------------------------------------

@check("PIPE-02", "pipeline-containers-on-their-ports", runs=(on_hosting(through_pipeline),))
def containers_on_their_ports(ctx: Context) -> str:
    _require_pipeline(ctx)
    images = [ctx.hosting.image, *(stage.image for stage in ctx.hosting.pipeline)]
    labels = [ctx.hosting.image_labels, *(stage.labels for stage in ctx.hosting.pipeline)]
    unlabelled = [f"container {number} ({image})" for number, (image, given) in enumerate(zip(images, labels), 1)
                  if not binds_to_port(given)]
    if unlabelled:
        raise Failed(f"{', '.join(unlabelled)} not labelled {BIND_TO_PORT_LABEL}=true",
                     expected="every image of a pipeline carries the label: without it CreateEndpoint fails")
    run = _require_started(ctx, "PIPE-02")
    ports = ", ".join(f"{port_of(n)} after {s.healthy_after:.1f} s" for n, s in enumerate(run.servers, 1))
    return f"{len(run.servers)} containers in one network namespace answered /ping 200 on their ports ({ports})"


def _failing_hop(hop: Sent, number: int, run: PipelineRun) -> str:
    """What went wrong at container `number`, whose request and answer `hop` records."""
    given = "the caller's request" if number == 1 else f"container {number - 1}'s answer"
    if hop.response is None:
        return f"{run.name(number)} gave no answer to {given}: {hop.error}"
    if hop.response.ok:  # read, but cut at the harness's cap
        return f"{run.name(number)} answered {given} with more than {len(hop.response.content)} bytes"
    return (f"{run.name(number)} answered {given} with HTTP {hop.response.status_code}: "
            f"{hop.response.content[:200]!r}")


@check("PIPE-01", "pipeline-answers-end-to-end", level="MUST", runs=(on_hosting(through_pipeline),))
def answers_end_to_end(ctx: Context) -> str:
    run = _require_started(ctx, "PIPE-01")
    generated_passages = run.passages[:-1]  # the large one is PIPE-04's evidence
    expected = (f"a 2xx from each of the {len(run.servers)} containers for valid CSV, each container's answer "
                "being the next one's request, as SageMaker chains them")
    for passage in generated_passages:
        last, number = passage.hops[-1], len(passage.hops)
        if number < len(run.servers) or not passed_on(last):
            raise Failed(f"{passage.kind}: {_failing_hop(last, number, run)}", expected=expected,
                         run=run.servers[number - 1], request=last.request)
    sizes = [len(p.hops[-1].body) for p in generated_passages]
    if not sizes:
        raise Inconclusive("no payload was sent through the pipeline")
    return (f"{len(sizes)} of {len(sizes)} generated CSV payloads answered 2xx by all {len(run.servers)} containers "
            f"in turn; last answers {min(sizes)}-{max(sizes)} bytes")


@check("PIPE-04", "pipeline-payloads-within-5mb", runs=(on_hosting(through_pipeline),))
def payload_between_containers(ctx: Context) -> str:
    run = _require_started(ctx, "PIPE-04")
    # Every 2xx of a container before the last: passed on, or cut at the harness's cap (so over the limit).
    handed = [(passage, number, hop) for passage in run.passages for number, hop in enumerate(passage.hops, 1)
              if number < len(run.servers) and hop.ok]
    if not handed:
        raise Inconclusive("no container answered 2xx to pass anything on to the next")
    largest_passage, number, largest = max(handed, key=lambda item: len(item[2].body))
    size, cut = len(largest.body), largest.response is not None and largest.response.truncated
    if size > PAYLOAD_LIMIT or cut:
        shown = f"more than {size}" if cut else str(size)
        raise Failed(f"{run.name(number)}, sent {len(largest.request.body)} bytes (for a first request of "
                     f"{largest_passage.kind}), answered {shown} bytes to hand on to container {number + 1}",
                     expected=f"at most {PAYLOAD_LIMIT:,} bytes handed from one container to the next for requests "
                     "within that limit: SageMaker fails the invocation above 5 MB",
                     run=run.servers[number - 1], request=largest.request)
    return (f"{len(handed)} answers handed on between containers, the largest {size} bytes (from "
            f"{run.name(number)}, sent {len(largest.request.body)} bytes for a first request of "
            f"{largest_passage.kind})")

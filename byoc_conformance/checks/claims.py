"""Claims that cannot start fail. An image that claims a capability (the multi-models label, a serverless profile,
response streaming, asynchronous inference, a pipeline named with --byoc-pipeline) is judged on a server started for
the claim, or on the shared `serve` that the claim's run needs first. When that server exited or never answered
/ping 200, SageMaker would fail every endpoint made for the claim: the claim's first MUST fails, on that server (its
exit code, the lines of its log that carry the error and its `docker run`), and the claim's other checks are
inconclusive with that cause. The one exception is a container the engine could not start at all: that is IMG-01's
to judge, so every check of the claim is inconclusive, as SERVE-05 is. Batch transform is judged on every image, not
claimed: its own servers follow the rule (BATCH-02), but a shared `serve` that does not start is SERVE-05's alone.

The runners only report what their server did: a run returns its server (the serverless profile, the pipeline), or
stops with the Inconclusive of Server.require_healthy, which carries the server that did not start (claimed_run).
Checks of a claim call require_started or claimed_run; this module alone turns a server that did not start into
their verdicts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ..hosting import Server
from ..outcome import CouldNotRun
from ..serverless import STARTUP
from ..verdicts import Failed, Inconclusive

T = TypeVar("T")
SHARED_ROLE = "serve"  # the role of Hosting.shared's Endpoint: the server every image gets, claim or not


@dataclass(frozen=True)
class Claim:
    """A capability an image claims, and the requirement its server's start belongs to."""

    first_must: str  # fails when the claim's server does not start; the claim's other checks are inconclusive
    server: str  # the claim's server, as verdicts name it
    expected: str  # what the first MUST expects of its start, and why
    on_shared: bool = False  # judged on the shared server itself, not on a server of the claim's own
    # False for a mode judged on every image, claimed or not (batch): a shared `serve` that does not start is then
    # SERVE-05's failure alone, and the mode's checks are inconclusive naming it.
    claimed: bool = True


MULTI_MODEL = Claim("MME-02", "the multi-model server (SAGEMAKER_MULTI_MODEL=true, the models under /opt/ml/models)",
                    "the multi-model server answers /ping 200 within its start-up window: SageMaker fails every "
                    "multi-model endpoint made from an image whose multi-model server does not start")
SERVERLESS = Claim("SLS-04", "the server under the serverless profile",
                   f"/ping 200 within {STARTUP:g} s of start under the serverless profile: SageMaker fails a "
                   "serverless endpoint whose server is not healthy by then")
STREAMING = Claim("STREAM-01", "the shared server the streamed request goes to",
                  "a server that answers /ping 200 and streams: SageMaker fails every streaming endpoint made from an "
                  "image whose server does not start", on_shared=True)
ASYNCHRONOUS = Claim("ASYNC-01", "the server sent the asynchronous request",
                     "a server that answers /ping 200 and then the request: SageMaker fails every asynchronous "
                     "endpoint made from an image whose server does not start")
PIPELINE = Claim("PIPE-02", "the pipeline's containers",
                 "each container of the pipeline answers /ping 200 on the port its SAGEMAKER_BIND_TO_PORT names, in "
                 "the network namespace it shares with the others: SageMaker fails the endpoint otherwise")
# For checks/batch.py, whose servers differ from the shared one by the batch variables alone (BATCH-02: tolerate them).
BATCH = Claim("BATCH-02", "the batch transform server (SAGEMAKER_BATCH=true)",
              "a server that answers /ping 200 with the batch variables set: SageMaker fails every transform job "
              "whose server does not start", claimed=False)


class Started(Protocol):
    """What the rule reads of a server (hosting.Server has it all)."""

    healthy_after: float | None
    exit_code: int | None
    start_error: str | None

    @property
    def label(self) -> str: ...

    @property
    def logs(self) -> str: ...

    def outcome(self) -> str: ...


def require_started(claim: Claim, requirement: str, server: Started, what: str | None = None, *,
                    cut_short: str | None = None) -> None:
    """Returns if `server` answered /ping 200. Otherwise raises `requirement`'s verdict under the rule: Failed for the
    claim's first MUST, Inconclusive naming it for the claim's other checks. `what` names the server in the verdict
    (the claim's own server by default); `cut_short` says why its window was shorter than the claim's own start-up
    limit (a short --byoc-startup-timeout, say): a server still starting when that window ended was not seen to fail,
    so every check is inconclusive then."""
    if server.healthy_after is not None:
        return
    what = what or claim.server
    if server.start_error:
        raise Inconclusive(f"{what}: {server.outcome()} (IMG-01 judges a container the engine cannot start)",
                           run=server)
    if cut_short and server.exit_code is None:
        raise Inconclusive(f"{what} was still starting when its window ended ({cut_short}): {server.outcome()}",
                           run=server)
    if requirement == claim.first_must:
        raise Failed(f"{what}: {server.outcome()}", expected=claim.expected, run=server)
    raise Inconclusive(f"{what} did not start ({claim.first_must} fails on it), so this was not judged: "
                       f"{server.outcome()}", run=server)


def claimed_run(claim: Claim, requirement: str, read: Callable[[], T]) -> T:
    """What `read()` returns: the claim's planned run. A run that stopped because a server did not start (the
    Inconclusive of Server.require_healthy, which carries it) is judged by require_started: the claim's own server,
    or the shared `serve`, which the run needs first (a claim whose `serve` cannot start fails however its run found
    out). Any other verdict of the run is raised as it is."""
    try:
        return read()
    except CouldNotRun as stopped:
        server = stopped.run
        if isinstance(server, Server) and server.healthy_after is None:
            shared = server.role == SHARED_ROLE and not claim.on_shared
            if shared and not claim.claimed and not server.start_error:
                raise Inconclusive(f"`serve` itself (the shared server, started before {claim.server}) did not start "
                                   f"(SERVE-05 fails on it), so this was not judged: {server.outcome()}",
                                   run=server) from None
            require_started(claim, requirement, server,
                            f"`serve` itself (the shared server, started before {claim.server})" if shared else None)
        raise

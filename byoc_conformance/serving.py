"""The real-time hosting runs the SERVE checks read (catalogue A.4): requests sent to the shared server, bursts of
connections, pings, malformed payloads against a server of their own, and the servers started with another port or a
writable model. Each returns what it sent and what came back; checks/hosting.py judges."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from hypothesis import strategies as st

from .exchange import Answer
from .hosting import OWN_MODEL, Endpoint, Hosting, Server
from .payloads import Payload, invalid_payloads, invalid_samples, valid_csv
from .plan import planned_for
from .probing import Criterion, Exploration, Sent, explore, send
from .verdicts import Request

REPEATED_PINGS = 20
CONCURRENT_REQUESTS = 16
ACCEPT_BURSTS = 3  # a small backlog may keep up with one burst that arrives spread out, hardly with three
ACCEPT_DEADLINE = 3.0  # past the first retransmission (1 s) of a connection the backlog had no room for
ALTERNATE_PORT = 9090
SAFE_PORT_RANGE = (9100, 9199)  # given with SAGEMAKER_BIND_TO_PORT, as a pipeline gives it: a second port goes there


# The runs on the shared server (pings, bursts, concurrent requests, sockets) are read by their checks, never named in
# `runs=`: named there, the plan's workers would start them beside the other checks' requests to the same server, and
# a server that takes one request at a time would be judged on the overlap (seen on serve-one-request-at-a-time).


def answer(hosting: Hosting, request: Request, payload: Payload | None = None) -> Sent:
    """`request` sent to the shared server once it is healthy, and what came of it."""
    return send(hosting.healthy(), request, payload)


def sized_answer(hosting: Hosting, server: Server, size: int, name: str) -> Sent:
    """A valid body of just under `size` bytes (CSV, or the declared sample grown to that size), saved as `name`,
    sent to `server`, and what came of it."""
    payload = hosting.sized_payload(size)
    return send(server, hosting.request(payload, name), payload)


def valid_csv_exploration(hosting: Hosting, name: str, criterion: Criterion) -> Exploration:
    """Generated valid CSV sent to the healthy shared server, each request saved as `name`; the payload `criterion`
    picks out shrunk to the smallest that still is (probing.explore)."""
    server = hosting.healthy()
    return explore(hosting, "valid CSV", valid_csv(hosting.csv.feature_ranges),
                   lambda payload: send(server, hosting.request(payload, name), payload), criterion)


@dataclass
class Pings:
    """GET /ping sent to the healthy shared server one after another, up to the first not answered 200."""

    server: Server
    outcomes: list[tuple[str, bool, float]] = field(default_factory=list)  # ("HTTP 200", answered, seconds) each


@planned_for
def repeated_pings(hosting: Hosting) -> Pings:
    pings = Pings(hosting.healthy())
    for _ in range(REPEATED_PINGS):
        started = time.monotonic()
        outcome, response = pings.server.ping()
        pings.outcomes.append((outcome, response is not None, time.monotonic() - started))
        if outcome != "HTTP 200":
            break
    return pings


@dataclass
class Ping:
    """One GET /ping to the healthy shared server: "HTTP <status>" or why there was no answer, and the answer."""

    outcome: str
    response: Answer | None


@planned_for
def one_ping(hosting: Hosting) -> Ping:
    return Ping(*hosting.healthy().ping())


@dataclass
class Bursts:
    """Bursts of connections opened at once to the healthy shared server (exchange.burst_times)."""

    server: Server
    proxied: bool | None  # a proxy on the engine's host accepts for the server (None: cannot tell); then none sent
    times: list[list[float | None]] = field(default_factory=list)  # each burst's time to accept each connection


@planned_for
def connection_bursts(hosting: Hosting) -> Bursts:
    server = hosting.healthy()
    bursts = Bursts(server, server.proxied())
    if bursts.proxied is False:
        bursts.times = server.connection_times(CONCURRENT_REQUESTS, ACCEPT_DEADLINE, ACCEPT_BURSTS)
    return bursts


@planned_for
def shared_sockets(hosting: Hosting) -> list[tuple[str, int]] | None:
    """The shared server's listening sockets (address, port); None when its socket table cannot be read."""
    return hosting.listening_sockets(hosting.shared)


@dataclass
class Together:
    """Copies of one request sent at once to the healthy shared server, each on a connection of its own."""

    request: Request
    outcomes: list[Sent]
    seconds: float


@planned_for
def concurrent_requests(hosting: Hosting) -> Together:
    request = hosting.request(hosting.valid_payload(), "serve-07-concurrent.payload")
    server = hosting.healthy()
    started = time.monotonic()
    outcomes = server.send_together(request, CONCURRENT_REQUESTS)
    return Together(request, [Sent(request, error=str(one)) if isinstance(one, Exception) else Sent(request,
                                                                                                     response=one)
                              for one in outcomes], time.monotonic() - started)


@dataclass
class Malformed:
    """Malformed payloads sent to a fresh server of their own: the smallest one answered other than 4xx (or not at
    all), a crash (after which nothing more is sent: a dead server would fail every payload), and /ping after."""

    server: Server
    found: Sent | None  # the smallest payload hypothesis shrank such an answer to
    unrepeated: str  # said when it did not repeat (probing.Exploration.unrepeated)
    crash: Sent | None  # the payload on which the container exited
    after: str  # how /ping answered once they were sent
    answered_4xx: int  # payloads answered 4xx


def _not_4xx(sent: Sent) -> str | None:
    """What the malformed payloads look for: an answer other than 4xx, or none (a crash is recorded apart)."""
    if sent.response is None:
        return sent.error or "no answer"
    return None if 400 <= sent.response.status_code < 500 else f"HTTP {sent.response.status_code}"


@planned_for
def malformed_payloads(hosting: Hosting) -> Malformed:
    # Malformed CSV for an image that takes CSV, else its declared sample spoilt.
    malformed: st.SearchStrategy[Payload] = invalid_payloads(hosting.csv.features) if hosting.traffic.takes_csv \
        else invalid_samples(hosting.valid_payload())
    hosting.healthy()
    with hosting.fresh(Endpoint("serve-bad-requests")) as server:
        server.require_healthy()
        crashes: list[Sent] = []
        answered: list[str] = []

        def attempt(payload: Payload) -> Sent:
            request = hosting.request(payload, "serve-11-bad-request.payload")
            if crashes:
                return Sent(request, payload)  # not sent: the server is dead
            sent = send(server, request, payload)
            if sent.response is None and sent.server_exited:
                crashes.append(sent)
            elif sent.response is not None and 400 <= sent.response.status_code < 500:
                answered.append(payload.kind)
            return sent

        def looked_for(sent: Sent) -> str | None:
            return None if crashes else _not_4xx(sent)

        explored = explore(hosting, "malformed payloads", malformed, attempt, looked_for)
        after, response = server.ping()
        if response is None and server.exited():
            after += f"; the container exited with code {server.exit_code}"
        return Malformed(server, explored.found, explored.unrepeated, crashes[0] if crashes else None, after,
                         len(answered))


@planned_for
def on_alternate_port(hosting: Hosting) -> tuple[Server, list[tuple[str, int]] | None]:
    """A fresh server told to serve on another port and where else it may listen, as an inference pipeline tells it
    (PIPE-02, PIPE-03), and its listening sockets once healthy (None: not read)."""
    hosting.healthy()  # else a failure on the other port says nothing about the label
    low, high = SAFE_PORT_RANGE
    environment = {"SAGEMAKER_BIND_TO_PORT": str(ALTERNATE_PORT), "SAGEMAKER_SAFE_PORT_RANGE": f"{low}-{high}"}
    with hosting.fresh(Endpoint("serve-bind-to-port", environment=environment, port=ALTERNATE_PORT)) as server:
        return server, hosting.listening_sockets(server) if server.healthy_after is not None else None


@planned_for
def with_writable_model(hosting: Hosting) -> Server:
    """The shared server's twin with /opt/ml/model writable: whether the read-only mount is what it fails on."""
    with hosting.fresh(Endpoint("serve-writable-model", model=OWN_MODEL)) as writable:
        return writable


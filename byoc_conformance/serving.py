"""The real-time hosting runs the SERVE checks read (catalogue A.4): requests sent to the shared server, bursts of
connections, pings, malformed payloads against a server of their own, and the servers started with another port or a
writable model. Each returns what it sent and what came back; checks/hosting.py judges.

Every run goes through the plan once: a `planned_for` function of the Hosting, or (`planned_per`) one that is also
given what the session fixes, the declaration the requests are built from. A request sequence stops where its check
stops judging (the first request left unanswered, or answered so that the check has its verdict), so that the server
sees the requests it saw when the check sent them itself.

The explorations of generated CSV (`valid_csv_exploration`) are given the check's criterion: it is what hypothesis
shrinks a payload by (the smallest payload the criterion still picks out), so it cannot be applied to a record after
the requests went. It only says what an answer shows, in words; the check judges the Exploration it gets back. Each
runs once per plan and request name: one check's probe."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TypeVar

from hypothesis import strategies as st

from .declaration import CSV, Declaration, media_type
from .engine import Process
from .exchange import MIB, Answer
from .hosting import OWN_MODEL, Endpoint, Hosting, Server, invocation
from .payloads import Payload, example_csv, invalid_payloads, invalid_samples, valid_csv
from .plan import planned_for, planned_per
from .probing import Criterion, Exploration, Sent, explore, send
from .verdicts import Request

T = TypeVar("T")

REPEATED_PINGS = 20
CONCURRENT_REQUESTS = 16
ACCEPT_BURSTS = 3  # a small backlog may keep up with one burst that arrives spread out, hardly with three
ACCEPT_DEADLINE = 3.0  # past the first retransmission (1 s) of a connection the backlog had no room for
SAMPLE_REPEATS = 5  # an image that takes no CSV: its declared sample, sent this many times (SERVE-07)
INVOKE_ENDPOINT_LIMIT = 6 * MIB  # InvokeEndpoint's request body limit (SERVE-07)
UNDECLARED_TYPE = "application/x-byoc-conformance-undeclared"  # a media type no image declares (SERVE-11)
# Headers SageMaker may add to a request, and one nobody knows (SERVE-08).
EXTRA_HEADERS = {"X-Amzn-SageMaker-Custom-Attributes": "trace=1;tenant=a b", "X-Amzn-SageMaker-Inference-Id": "id-1",
                 "X-Amzn-SageMaker-Target-Variant": "AllTraffic", "X-Unknown-Header": "anything"}


# The runs on the shared server (pings, bursts, concurrent requests, its sockets and PID 1, the request sequences at the
# end) are read by their checks, never named in `runs=`: named there, the plan's workers would start them beside the
# other checks' requests to the same server, and a server that takes one request at a time would be judged on the
# overlap (seen on serve-one-request-at-a-time).


def answer(hosting: Hosting, request: Request, payload: Payload | None = None) -> Sent:
    """`request` sent to the shared server once it is healthy, and what came of it."""
    return send(hosting.healthy(), request, payload)


def sized_answer(hosting: Hosting, server: Server, size: int, name: str) -> Sent:
    """A valid body of just under `size` bytes (CSV, or the declared sample grown to that size), saved as `name`,
    sent to `server`, and what came of it."""
    payload = hosting.sized_payload(size)
    return send(server, hosting.request(payload, name), payload)


@planned_per(1)
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


@dataclass
class Sockets:
    """The shared server's listening sockets, read while it runs."""

    running: bool  # it had started and not exited when looked at; else nothing was read
    listening: list[tuple[str, int]] | None = None  # (address, port) each; None: its socket table cannot be read


@planned_for
def shared_sockets(hosting: Hosting) -> Sockets:
    server = hosting.shared
    if server.start_error or server.exited():
        return Sockets(False)
    return Sockets(True, hosting.listening_sockets(server))


@dataclass
class Pid1:
    """The shared server's PID 1 as the engine's `ps` shows it, read while it runs."""

    running: bool  # it had started and not exited when looked at; else nothing was read
    process: Process | None = None  # None: the engine's `ps` did not show it


@planned_for
def shared_pid1(hosting: Hosting) -> Pid1:
    server = hosting.shared
    if server.start_error or server.exited():
        return Pid1(False)
    return Pid1(True, server.pid1())


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
def with_writable_model(hosting: Hosting) -> Server:
    """The shared server's twin with /opt/ml/model writable: whether the read-only mount is what it fails on."""
    with hosting.fresh(Endpoint("serve-writable-model", model=OWN_MODEL)) as writable:
        return writable



# --- requests to the shared server, sent when their check reads them (see the note above the pings) --------------


@planned_for
def declared_sample_repeated(hosting: Hosting) -> list[Sent]:
    """An image that takes no CSV: its declared sample sent SAMPLE_REPEATS times to the healthy shared server."""
    payload = hosting.valid_payload()
    hosting.healthy()
    return [answer(hosting, hosting.request(payload, "serve-07-valid-sample.payload"), payload)
            for _ in range(SAMPLE_REPEATS)]


@planned_for
def body_at_invoke_limit(hosting: Hosting) -> Sent:
    """A valid body of just under InvokeEndpoint's 6 MiB sent to the healthy shared server (sized_answer)."""
    return sized_answer(hosting, hosting.healthy(), INVOKE_ENDPOINT_LIMIT, "serve-07-6mib.payload")


@planned_for
def isolated_answer(hosting: Hosting) -> Sent:
    """A valid request of three rows (or the declared sample) to the healthy shared server, which runs with no route
    out (SERVE-15)."""
    payload = hosting.valid_payload(3)
    return answer(hosting, hosting.request(payload, "serve-15-isolated.payload"), payload)


@dataclass
class WithExtraHeaders:
    """A valid request to the healthy shared server twice as it is (the control), then with EXTRA_HEADERS: sent only
    once both plain ones were answered and the first one 2xx (an error answer says nothing about the headers)."""

    extra: dict[str, str]
    decorated: Request  # the request with the extra headers
    plain: list[Sent]  # the plain request twice, up to the first left unanswered
    with_extra: Sent | None = None


@planned_for
def extra_headers(hosting: Hosting) -> WithExtraHeaders:
    payload = hosting.valid_payload()
    hosting.healthy()
    sent = WithExtraHeaders(EXTRA_HEADERS, hosting.request(payload, "serve-08-headers.payload", EXTRA_HEADERS), [])
    for _ in range(2):
        sent.plain.append(answer(hosting, hosting.request(payload, "serve-08-plain.payload")))
        if not sent.plain[-1].answered:
            return sent
    if sent.plain[0].ok:
        sent.with_extra = answer(hosting, sent.decorated)
    return sent


def _sample_body(hosting: Hosting, declaration: Declaration, content_type: str) -> bytes | None:
    """A valid request body of this type: the declared sample, or CSV generated from the declared layout."""
    if content_type in declaration.invocation_samples:
        return declaration.invocation_samples[content_type]
    if media_type(content_type) == CSV:
        return example_csv(hosting.csv.feature_ranges, 3).body
    return None


def _body_problem(content_type: str, body: bytes) -> str | None:
    """Whether the body is what its Content-Type says, as far as the type tells."""
    try:
        if content_type == "application/json" or content_type.endswith("+json"):
            json.loads(body)
        elif content_type.startswith("text/"):
            body.decode("utf-8")
    except ValueError as error:
        return f"the body is not {content_type} ({error}): {body[:100]!r}"
    return None


@dataclass
class Pair:
    """A declared request type sent asking for a declared response type, and what came back."""

    content_type: str
    accept: str
    sent: Sent
    body_problem: str | None = None  # a 2xx answer of the type asked for whose body is not of that type: how


@dataclass
class DeclaredPairs:
    """Each declared request type with a sample, sent to the healthy shared server asking for each declared response
    type, up to the first pair left unanswered or answered other than declared (not 2xx, another type, a body not of
    its type)."""

    pairs: list[Pair] = field(default_factory=list)
    unprobed: list[str] = field(default_factory=list)  # declared request types with no sample to send


@planned_per(0)
def declared_pairs(hosting: Hosting, declaration: Declaration) -> DeclaredPairs:
    hosting.healthy()
    sent = DeclaredPairs()
    for content_type in declaration.content_types:
        body = _sample_body(hosting, declaration, content_type)
        if body is None:
            sent.unprobed.append(content_type)
            continue
        for accept in declaration.response_types:
            pair = Pair(content_type, accept, answer(hosting, invocation(
                body, f"serve-10-{len(sent.pairs)}.payload", content_type, {"Accept": accept})))
            sent.pairs.append(pair)
            response = pair.sent.response
            if response is None or not response.ok:
                return sent
            answer_type = media_type(response.headers.get("Content-Type"))
            if answer_type != media_type(accept):
                return sent
            pair.body_problem = _body_problem(answer_type, response.content)
            if pair.body_problem:
                return sent
    return sent


def _spellings(kind: str, accept: bool) -> list[str]:
    """The same media type as clients also write it: with parameters, in other letter cases, and (in Accept)
    with q-values (RFC 9110: types are case-insensitive and may carry parameters)."""
    base = media_type(kind)
    kind_of, _, subtype = base.partition("/")
    spelled = [f"{base}; charset=utf-8", base.upper() if accept else f"{kind_of.capitalize()}/{subtype.upper()}"]
    if accept:
        return [*spelled, f"{base};q=0.9, */*;q=0.1"]
    return [*spelled, f"{base};header=absent"] if base == CSV else spelled


@dataclass
class Spelled:
    """A declared request type's sample with the types as declared (the plain request), sent twice as the control,
    then with its Content-Type and the Accept spelled otherwise (_spellings); each spelling is sent only while the
    ones before were answered alike."""

    content_type: str
    accept: str
    plain: list[Sent]  # the plain request, then again once the first was answered 2xx; up to the first unanswered
    spellings: list[Sent] = field(default_factory=list)  # up to the first unanswered or answered otherwise

    @property
    def varies(self) -> bool:
        """The same plain request was answered with other statuses or bodies twice: only statuses compare."""
        first, again = (one.response for one in self.plain)
        return (again.status_code, again.content) != (first.status_code, first.content)  # type: ignore[union-attr]

    def alike(self, response: Answer) -> bool:
        """Whether `response` is the plain request's answer: the same status, and body unless the plain one varies."""
        plain = self.plain[0].response
        body_too = not self.varies
        return (response.status_code, response.content if body_too else None) == \
            (plain.status_code, plain.content if body_too else None)  # type: ignore[union-attr]


@planned_per(0)
def media_type_spellings(hosting: Hosting, declaration: Declaration) -> list[Spelled]:
    hosting.healthy()
    accept = declaration.response_types[0]
    sent: list[Spelled] = []
    spelled_so_far = 0  # the spellings' requests are numbered across the types
    for content_type in declaration.content_types:
        body = _sample_body(hosting, declaration, content_type)
        if body is None:
            continue
        plain = invocation(body, "serve-07-media-type.payload", content_type, {"Accept": accept})
        spelled = Spelled(content_type, accept, [answer(hosting, plain)])
        sent.append(spelled)
        if not spelled.plain[0].ok:
            return sent
        spelled.plain.append(answer(hosting, plain))
        if not spelled.plain[1].answered:
            return sent
        variants = [(spelling, accept) for spelling in _spellings(content_type, False)]
        variants += [(content_type, spelling) for spelling in _spellings(accept, True)]
        for request_type, accepted in variants:
            one = answer(hosting, invocation(body, f"serve-07-media-type-{spelled_so_far}.payload", request_type,
                                             {"Accept": accepted}))
            spelled.spellings.append(one)
            if one.response is None or not spelled.alike(one.response):
                return sent
            spelled_so_far += 1
    return sent


def _declared_request(hosting: Hosting, declaration: Declaration, name: str, **headers: str) -> Request | None:
    """The first declared request type's sample with `headers`; None when no declared type has one."""
    samples = ((t, _sample_body(hosting, declaration, t)) for t in declaration.content_types)
    content_type, body = next(((t, body) for t, body in samples if body is not None), (None, None))
    if body is None:
        return None
    return invocation(body, name, content_type, {"Accept": declaration.response_types[0], **headers})  # type: ignore[arg-type]


@planned_per(0)
def undeclared_content_type(hosting: Hosting, declaration: Declaration) -> Sent | None:
    """A declared sample sent to the healthy shared server with Content-Type UNDECLARED_TYPE; None: no sample."""
    request = _declared_request(hosting, declaration, "serve-11-415.payload", **{"Content-Type": UNDECLARED_TYPE})
    return None if request is None else answer(hosting, request)


@planned_per(0)
def unproducible_accept(hosting: Hosting, declaration: Declaration) -> Sent | None:
    """A declared sample sent to the healthy shared server asking for UNDECLARED_TYPE; None: no sample."""
    request = _declared_request(hosting, declaration, "serve-11-406.payload", Accept=UNDECLARED_TYPE)
    return None if request is None else answer(hosting, request)

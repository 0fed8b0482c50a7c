"""Real-time hosting requirements (catalogue A.4), judged against real
`serve` containers: the startup window, /ping, and /invocations probed with hypothesis-generated CSV."""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable

from .. import serving
from ..declaration import CSV, media_type
from ..exchange import ACCEPT_WITHIN, TIGHT, TRIES, Answer, cut_note
from ..hosting import PING_TIMEOUT, STOP_GRACE, Hosting, Server
from ..payloads import Payload
from ..probing import Exploration, Sent
from ..registry import Context, check, on_hosting
from ..serving import (
    ACCEPT_BURSTS,
    ACCEPT_DEADLINE,
    CONCURRENT_REQUESTS,
    INVOKE_ENDPOINT_LIMIT,
    REPEATED_PINGS,
    SAMPLE_REPEATS,
    UNDECLARED_TYPE,
    connection_bursts,
    malformed_payloads,
    one_ping,
    repeated_pings,
    shared_sockets,
    with_writable_model,
)
from ..verdicts import Failed, Inconclusive, NotApplicable, Request

# What a program prints when it reaches for the network and finds no route or no name service (SERVE-15).
NO_NETWORK = re.compile(r"network is unreachable|no route to host|temporary failure in name resolution|"
                        r"name or service not known|could not resolve host|getaddrinfo failed|"
                        r"failed to establish a new connection|unknownhostexception|no such host|"
                        r"connection timed out|connecttimeout", re.IGNORECASE)


def _require_csv_in(hosting: Hosting) -> None:
    if not hosting.traffic.takes_csv:
        raise Inconclusive("generated CSV is sent to images that take text/csv, which the declaration's "
                           "SupportedContentTypes do not list")


def _answered(sent: Sent, server: Server, expected: str) -> Answer:
    """The answer `sent` got; no answer at all fails the check. A server that left one request unanswered at the
    deadline is not asked again: every later probe fails with that first request as the evidence."""
    if sent.response is not None:
        return sent.response
    raise Failed(_no_answer(sent, server), expected=expected, run=server, request=sent.blamed or sent.request)


def _no_answer(sent: Sent, server: Server) -> str:
    if sent.timed_out:
        return f"no complete answer within {server.invocation_timeout:g} s ({sent.error})"
    return f"no answer: {sent.error}"


def _excerpt(response: Answer) -> str:
    body = response.content
    return repr(body if len(body) <= 200 else body[:200] + b"...") + cut_note(response)


@check("SERVE-05", "healthy-within-startup-window", runs=(Hosting.shared,))
def healthy_within_window(ctx: Context) -> str:
    server = ctx.hosting.shared
    if server.start_error:
        raise Inconclusive(server.outcome(), run=server)
    if server.healthy_after is None:
        raise Failed(
            server.outcome(),
            expected=f"/ping answers 200 within {ctx.hosting.startup_timeout:.0f} s of start-up "
            "(SageMaker allows 8 minutes, then fails the endpoint)",
            run=server,
        )
    return server.outcome()


@check("SERVE-02", "listens-on-all-interfaces-port-8080", runs=(Hosting.shared,))
def listens_on_all_interfaces(ctx: Context) -> str:
    server = ctx.hosting.shared
    sockets = shared_sockets(ctx.hosting)
    if not sockets.running:
        raise Inconclusive(f"no running server to look at: {server.outcome()}", run=server)
    listening = sockets.listening
    if listening is None:
        raise Inconclusive("cannot read the container's socket table (/proc/net/tcp): the image has no `cat`")
    on_port = [address for address, port in listening if port == server.port]
    expected = f"an HTTP server on port {server.port} of every interface (0.0.0.0 or ::)"
    if not on_port:
        shown = ", ".join(f"{a}:{p}" for a, p in listening) or "nothing"
        raise Failed(f"nothing listens on port {server.port}; listening: {shown}", expected=expected, run=server)
    if not any(address in ("0.0.0.0", "::") for address in on_port):
        raise Failed(
            f"port {server.port} is bound to {', '.join(on_port)} only, which SageMaker's front end cannot reach",
            expected=expected, run=server,
        )
    return f"listening on {', '.join(f'{a}:{server.port}' for a in on_port)}"


@check("SERVE-03", "accepts-connections-within-250ms", runs=(Hosting.shared,))
def accepts_connections_in_time(ctx: Context) -> str:
    """Bursts of connections opened at once, as a front end does when traffic rises: the kernel accepts them
    while the server's listen backlog has room, and drops the rest until the client sends again (1 s later)."""
    server = ctx.hosting.healthy()
    observed = connection_bursts(ctx.hosting)
    proxied = observed.proxied
    if proxied is not False:
        raise Inconclusive("a proxy on the engine's host accepts connections for the server (Docker's userland "
                           "proxy, on a port published on the host's loopback): the server's own acceptance is not "
                           "seen" if proxied else "whether a proxy on the engine's host accepts connections for the "
                           "server could not be told")
    bursts = observed.times
    slowest = [max(float("inf") if t is None else t for t in burst) for burst in bursts]
    if not slowest:
        raise Inconclusive(f"no burst of {CONCURRENT_REQUESTS} connections went out within {TIGHT * 1000:.0f} ms in "
                           f"{ACCEPT_BURSTS * TRIES} tries: the machine is too loaded to open them at once", run=server)

    def shown(seconds: float) -> str:
        return f"none within {ACCEPT_DEADLINE:g} s" if seconds == float("inf") else f"{seconds * 1000:.0f} ms"

    summary = ", ".join(shown(seconds) for seconds in slowest)
    if max(slowest) > ACCEPT_WITHIN:
        late = sum(1 for burst in bursts for t in burst if t is None or t > ACCEPT_WITHIN)
        raise Failed(
            f"in {ACCEPT_BURSTS} bursts of {CONCURRENT_REQUESTS} connections opened at once, some were "
            f"accepted after more than {ACCEPT_WITHIN * 1000:.0f} ms ({late} of {ACCEPT_BURSTS * CONCURRENT_REQUESTS}"
            f" in all); the slowest of each burst: {summary}. A listen backlog smaller than the connections that "
            "arrive together, or a server that accepts them slowly, makes the kernel drop the rest",
            expected=f"every connection accepted within {ACCEPT_WITHIN * 1000:.0f} ms", run=server,
            # curl processes started in a loop come too far apart to fill a small backlog: the harness's burst
            reproduce=f"python3 -m byoc_conformance.exchange {_unproxied_host(ctx, server)} {server.port} "
                      f"{CONCURRENT_REQUESTS} {ACCEPT_DEADLINE:g} {ACCEPT_BURSTS}  # seconds to accept, per burst")
    if len(bursts) < ACCEPT_BURSTS:
        raise Inconclusive(f"only {len(bursts)} of {ACCEPT_BURSTS} bursts of {CONCURRENT_REQUESTS} connections went "
                           f"out within {TIGHT * 1000:.0f} ms (the machine is loaded), each accepted in time: "
                           f"{summary}",
                           run=server)
    return (f"{ACCEPT_BURSTS} bursts of {CONCURRENT_REQUESTS} connections opened at once (within "
            f"{TIGHT * 1000:.0f} ms); the slowest accepted in {summary}")


def _unproxied_host(ctx: Context, server: Server) -> str:
    """Where the reproduced server is reached without Docker's proxy, which accepts loopback connections for
    it: a remote engine's host (its NAT leads to the container), else the container's own address."""
    if ctx.engine.remote:
        return ctx.engine.host_address
    return ("$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "
            f"byoc-repro-{server.role})")


@check("SERVE-04", "ping-answers-200-within-2s", runs=(Hosting.shared,))
def ping_answers_in_time(ctx: Context) -> str:
    shared = ctx.hosting.shared
    failed = shared.failed_pings()
    if shared.healthy_after is None and failed:
        total = sum(shared.pings.values())
        raise Failed(f"none of {total} pings in the start-up window answered 200 within {PING_TIMEOUT:.0f} s: "
                     + ", ".join(f"{n} x {outcome}" for outcome, n in sorted(failed.items())),
                     expected=f"/ping answers 200 within {PING_TIMEOUT:.0f} s once the container can serve",
                     run=shared, request=Request("ping", "GET", "/ping"))
    pings = repeated_pings(ctx.hosting)
    server = pings.server
    times = [seconds for _, _, seconds in pings.outcomes]
    for attempt, (outcome, answered, _) in enumerate(pings.outcomes, 1):
        if not answered:
            raise Failed(f"ping {attempt} of {REPEATED_PINGS}: {outcome}",
                         expected=f"every /ping answers 200 within {PING_TIMEOUT:.0f} s", run=server,
                         request=Request("ping", "GET", "/ping"))
        if outcome != "HTTP 200":
            raise Failed(f"ping {attempt} of {REPEATED_PINGS} answered {outcome}",
                         expected="every /ping answers 200", run=server, request=Request("ping", "GET", "/ping"))
    return (f"{REPEATED_PINGS} pings answered 200: p50 {statistics.median(times) * 1000:.1f} ms, "
            f"max {max(times) * 1000:.1f} ms")


@check("SERVE-04", "ping-body-empty", level="SHOULD", runs=(Hosting.shared,))
def ping_body_empty(ctx: Context) -> str:
    ping = one_ping(ctx.hosting)
    outcome, response = ping.outcome, ping.response
    if response is None:
        raise Inconclusive(f"/ping gave no answer to look at ({outcome}); see the other SERVE-04 checks")
    if response.content:
        raise Failed(f"/ping answered with a body: {_excerpt(response)}",
                     expected="200 with an empty body, the documented minimum", request=Request("ping", "GET", "/ping"))
    return "/ping answered 200 with an empty body"


def _probe_valid_csv(ctx: Context, name: str, expected: str,
                     judge: Callable[[Payload, Answer], str | None], *, judges_errors: bool = False) -> str:
    """Judges each answer to generated valid CSV (serving.valid_csv_exploration). Unless `judges_errors`, only 2xx
    answers are judged (a non-2xx answer is SERVE-07's failure), and with none of those there is nothing to pass
    on."""
    _require_csv_in(ctx.hosting)
    server = ctx.hosting.healthy()

    def criterion(sent: Sent) -> str | None:
        if sent.response is None:
            return _no_answer(sent, server)
        if not (judges_errors or sent.response.ok):
            return None
        return judge(sent.payload, sent.response)  # type: ignore[arg-type]

    explored = serving.valid_csv_exploration(ctx.hosting, name, criterion)
    _require_none_found(explored, server, expected)
    answered = explored.answered
    judged = [one.payload.rows for one in answered if judges_errors or one.ok]  # type: ignore[union-attr]
    if not judged:
        raise Inconclusive(f"none of {len(answered)} generated CSV payloads was answered 2xx, so there was no answer "
                           "to judge (see SERVE-07 valid-csv-answered-2xx-within-60s)", run=server)
    return (f"{len(judged)} of {len(answered)} generated CSV payloads ({sum(judged)} rows) judged; slowest answer "
            f"{max(one.seconds for one in answered) * 1000:.0f} ms")


def _require_none_found(explored: Exploration, server: Server, expected: str) -> None:
    """Fails on the smallest payload the exploration picked out, if any."""
    found = explored.found
    if found is not None:
        raise Failed(f"{explored.problem}{explored.unrepeated}", expected=expected, run=server,
                     request=found.blamed or found.request)


@check("SERVE-07", "valid-csv-answered-2xx-within-60s", runs=(Hosting.shared,))
def valid_csv_answered(ctx: Context) -> str:
    def judge(payload: Payload, response: Answer) -> str | None:
        if not 200 <= response.status_code < 300:
            return f"HTTP {response.status_code} for {payload.kind} ({payload.rows} rows); body {_excerpt(response)}"
        if len(response.content) > INVOKE_ENDPOINT_LIMIT:
            return (f"an answer of over {INVOKE_ENDPOINT_LIMIT} bytes, InvokeEndpoint's response limit, to "
                    f"{payload.rows} rows: {_excerpt(response)}")
        if response.elapsed.total_seconds() > 60:
            return f"answered after {response.elapsed.total_seconds():.1f} s; SageMaker gives up after 60 s"
        return None

    if not ctx.hosting.traffic.takes_csv:  # the declared sample, a few times over
        sent = serving.declared_sample_repeated(ctx.hosting)
        payload, server = ctx.hosting.valid_payload(), ctx.hosting.healthy()
        for one in sent:
            problem = judge(payload, _answered(one, server, "2xx within 60 s for the declared sample"))
            if problem:
                raise Failed(problem, expected="2xx within 60 s for the declared sample request", run=server,
                             request=one.request)
        return f"{payload.kind} answered 2xx {SAMPLE_REPEATS} times ({ctx.hosting.traffic.describe()})"
    return _probe_valid_csv(ctx, "serve-07-valid-csv.payload", "2xx within 60 s for valid CSV", judge,
                            judges_errors=True)


@check("SERVE-10", "response-content-type-matches-accept", runs=(Hosting.shared,))
def response_content_type(ctx: Context) -> str:
    if not ctx.hosting.traffic.takes_csv:
        raise NotApplicable("the image takes no text/csv, so no CSV is generated for it; declared-content-type-pairs "
                            "judges the answer to its declared sample")
    accept = ctx.hosting.traffic.accept

    def judge(payload: Payload, response: Answer) -> str | None:
        content_type = response.headers.get("Content-Type", "")
        if media_type(content_type) != media_type(accept):
            return f"Content-Type {content_type!r} in answer to Accept: {accept}"
        return None

    return _probe_valid_csv(ctx, "serve-10-content-type.payload",
                            f"the answer's Content-Type is what Accept asked for ({accept})", judge)


@check("SERVE-07", "one-record-per-row", level="SHOULD", runs=(Hosting.shared,))
def one_record_per_row(ctx: Context) -> str:
    if media_type(ctx.hosting.traffic.accept) != CSV:
        raise NotApplicable(f"the image answers {ctx.hosting.traffic.accept}: records are counted as lines of "
                            "text/csv answers")
    def judge(payload: Payload, response: Answer) -> str | None:
        records = len(response.content.decode("utf-8", "replace").splitlines())
        if records != payload.rows:
            return f"{records} output records for {payload.rows} input rows: {_excerpt(response)}"
        return None

    return _probe_valid_csv(ctx, "serve-07-records.payload", "one output record per input row", judge)


@check("SERVE-07", "accepts-6-mib-body", runs=(Hosting.shared,))
def accepts_6_mib(ctx: Context) -> str:
    """A valid body of just under 6 MiB must get a 2xx (a payload limit the image has to meet): CSV, or the declared
    sample grown to that size (serving.body_at_invoke_limit)."""
    sent = serving.body_at_invoke_limit(ctx.hosting)
    server = ctx.hosting.healthy()
    expected = f"2xx: InvokeEndpoint accepts bodies up to {INVOKE_ENDPOINT_LIMIT} bytes (6 MiB)"
    payload, response = sent.payload, _answered(sent, server, expected)
    if not response.ok:
        raise Failed(f"HTTP {response.status_code} for {payload.kind}; body {_excerpt(response)}",  # type: ignore[union-attr]
                     expected=expected, run=server, request=sent.request)
    return f"HTTP {response.status_code} for {payload.kind} in {response.elapsed.total_seconds():.2f} s"  # type: ignore[union-attr]


@check("SERVE-08", "unknown-headers-ignored", runs=(Hosting.shared,))
def unknown_headers_ignored(ctx: Context) -> str:
    sent = serving.extra_headers(ctx.hosting)
    server = ctx.hosting.healthy()
    extra, request = sent.extra, sent.decorated
    expected = "2xx, with or without extra headers"
    # The control: the plain request twice. Bodies that differ between two identical requests (a request ID, a
    # sampled answer) cannot show what the headers changed, and an error answer says nothing about the headers.
    plain, again = (_answered(one, server, expected) for one in sent.plain)
    if not plain.ok:
        raise Inconclusive(f"the plain request is answered HTTP {plain.status_code} {_excerpt(plain)}: error answers "
                           "are not compared (SERVE-02 judges valid requests)", run=server, request=request)
    decorated = _answered(sent.with_extra, server, expected)  # type: ignore[arg-type]
    bodies_agree = (plain.status_code, plain.content) == (again.status_code, again.content)
    compared = (decorated.status_code, decorated.content if bodies_agree else None)
    if compared != (plain.status_code, plain.content if bodies_agree else None):
        raise Failed(f"with extra headers: HTTP {decorated.status_code} {_excerpt(decorated)}; "
                     f"without, twice: HTTP {plain.status_code} {_excerpt(plain)}"
                     + ("" if bodies_agree else f" and HTTP {again.status_code} {_excerpt(again)}"),
                     expected="the same answer: SageMaker may add headers, and forwards custom attributes",
                     run=server, request=request)
    if not bodies_agree:
        return (f"same status (HTTP {plain.status_code}) with {len(extra)} extra headers; bodies not compared: the "
                "same plain request sent twice was answered differently")
    return f"same answer (HTTP {plain.status_code}) with {len(extra)} extra headers as without them, twice"


@check("SERVE-07", "concurrent-requests", runs=(Hosting.shared,))
def concurrent_requests(ctx: Context) -> str:
    together = serving.concurrent_requests(ctx.hosting)
    problems = [f"no answer: {one.error}" if one.response is None else
                f"HTTP {one.response.status_code} {_excerpt(one.response)}" for one in together.outcomes if not one.ok]
    if problems:
        raise Failed(f"{len(problems)} of {CONCURRENT_REQUESTS} concurrent requests failed: {problems[0]}",
                     expected="every request answered 2xx, as SageMaker sends requests concurrently",
                     run=ctx.hosting.healthy(), request=together.request)
    return (f"{CONCURRENT_REQUESTS} concurrent requests (connections opened in turn, then all sent together) "
            f"answered 2xx in {together.seconds:.2f} s")


def _malformed_failure(probe: serving.Malformed) -> Failed | None:
    """The crash, else the smallest malformed payload answered other than 4xx, as a failure; None if neither."""
    crash, found, server = probe.crash, probe.found, probe.server
    if crash is not None:
        return Failed(f"the container exited (code {server.exit_code}) on {crash.payload.kind}: "  # type: ignore[union-attr]
                      f"{crash.error}", run=server, request=crash.request)
    if found is None:
        return None
    kind = found.payload.kind  # type: ignore[union-attr]
    observed = f"no answer to {kind}: {found.error}" if found.response is None else \
        f"HTTP {found.response.status_code} for {kind}; body {_excerpt(found.response)}"
    return Failed(observed + probe.unrepeated, run=server, request=found.request)


@check("SERVE-11", "malformed-input-is-4xx", runs=(on_hosting(malformed_payloads),))
def malformed_input_is_4xx(ctx: Context) -> str:
    probe = malformed_payloads(ctx.hosting)
    failure = _malformed_failure(probe)
    if failure:
        failure.expected = ("a 4xx answer to a malformed payload (non-numeric field, wrong column count, empty body, "
                            "binary junk, invalid UTF-8, unsupported Content-Type); never a 5xx or a dead server")
        raise failure
    if not probe.answered_4xx:
        raise Inconclusive("no malformed payload was sent", run=probe.server)
    return f"{probe.answered_4xx} malformed payloads answered 4xx"


@check("SERVE-04", "ping-after-malformed-input", runs=(on_hosting(malformed_payloads),))
def ping_after_malformed_input(ctx: Context) -> str:
    probe = malformed_payloads(ctx.hosting)
    if probe.after != "HTTP 200":
        failure = _malformed_failure(probe)
        raise Failed(f"after malformed payloads /ping answers: {probe.after}",
                     expected="the server stays up: /ping still answers 200",
                     run=failure.run if failure else probe.server)
    return "/ping still answers 200 after the malformed payloads"


@check("SERVE-13", "sigterm-exits-within-30s", runs=(Hosting.stopped_by_sigterm,))
def sigterm_exits(ctx: Context) -> str:
    stop = ctx.hosting.stopped_by_sigterm
    if stop.seconds is None:
        raise Failed(
            f"still running {STOP_GRACE:.0f} s after SIGTERM",
            expected=f"the container exits within {STOP_GRACE:.0f} s of SIGTERM, when SageMaker sends SIGKILL",
            run=stop.server,
            reproduce=f"time docker stop --time {STOP_GRACE:.0f} byoc-repro-{stop.server.role}",
        )
    return f"exited with code {stop.server.exit_code} {stop.seconds:.2f} s after SIGTERM"


@check("SERVE-15", "works-without-outbound-network", runs=(Hosting.shared,))
def works_without_outbound_network(ctx: Context) -> str:
    """The shared server runs on the run's internal network, with no route out and the harness as its only peer:
    as under network isolation, which AWS Marketplace requires (MKT-01). What it prints when it reaches for the
    network tells a server that needs the network from one broken otherwise (that is SERVE-05's verdict)."""
    if not ctx.declaration.network_isolation:
        raise NotApplicable("the image is not said to be served under network isolation: neither the declaration's "
                            "$.byoc-conformance.network_isolation nor --byoc-network-isolation")
    server = ctx.hosting.shared
    if not ctx.engine.isolated:
        raise Inconclusive("on this engine the server runs on a bridge with a route out (its port is published): "
                           "it was not served without a network; run on a local engine to judge it")
    if server.start_error:
        raise Inconclusive(server.outcome(), run=server)
    reached = [line.strip() for line in server.logs.splitlines() if NO_NETWORK.search(line)]
    expected = ("a server that starts and answers with no route out and no name service, its only peer the caller "
                "(CreateModel's EnableNetworkIsolation, required in AWS Marketplace)")
    if server.healthy_after is None:
        if reached:
            raise Failed(f"never healthy with no route out ({server.outcome()}); it reached for the network: "
                         + " | ".join(reached[-3:]), expected=expected, run=server)
        raise Inconclusive(f"never healthy, with no sign in its logs of reaching for the network: {server.outcome()}",
                           run=server)
    served = "/ping answered 200"
    if ctx.hosting.traffic.takes_csv or ctx.hosting.traffic.sample:
        sent = serving.isolated_answer(ctx.hosting)
        payload, request = sent.payload, sent.request
        response = _answered(sent, ctx.hosting.healthy(), expected)
        if not response.ok:
            raise Failed(f"healthy, but HTTP {response.status_code} for {payload.kind} with no route out; body "
                         f"{_excerpt(response)}" + (f"; it reached for the network: {' | '.join(reached[-3:])}"
                                                    if reached else ""), expected=expected, run=server, request=request)
        served += f" and {payload.kind} got HTTP {response.status_code}"
    tried = f"; it reached for the network and carried on: {' | '.join(reached[-3:])}" if reached else ""
    return f"{served} with no route out (an internal network; the harness its only peer){tried}"


def _writable_model_run(ctx: Context) -> object:
    server = ctx.hosting.shared
    return with_writable_model(ctx.hosting) if server.healthy_after is None and server.exit_code is not None \
        and not server.start_error else None


@check("SERVE-12", "serves-from-read-only-model", runs=(Hosting.shared, _writable_model_run))
def serves_from_read_only_model(ctx: Context) -> str:
    server = ctx.hosting.shared
    if server.start_error:
        raise Inconclusive(server.outcome(), run=server)
    if server.healthy_after is not None:
        return "healthy with /opt/ml/model mounted read-only"
    if server.exit_code is None:
        raise Inconclusive(f"not healthy, but it did not exit either: {server.outcome()}", run=server)
    # It crashed: was it the read-only mount? The same server with a writable model tells.
    writable = with_writable_model(ctx.hosting)
    if writable.healthy_after is None:
        raise Inconclusive(f"the server fails with a writable /opt/ml/model too: {writable.outcome()}", run=server)
    raise Failed(f"with /opt/ml/model read-only: {server.outcome()}; with it writable: {writable.outcome()}",
                 expected="a server that only reads /opt/ml/model, which SageMaker mounts read-only", run=server)


# --- declared content types (SERVE-10/11) ----------------------------------------------------------------


@check("SERVE-10", "declared-content-type-pairs", runs=(Hosting.shared,))
def declared_content_type_pairs(ctx: Context) -> str:
    if ctx.declaration.inference is None:
        raise NotApplicable("no InferenceSpecification was declared (--byoc-spec)")
    sent = serving.declared_pairs(ctx.hosting, ctx.declaration)
    server = ctx.hosting.healthy()
    answered = []
    for pair in sent.pairs:
        content_type, accept = pair.content_type, pair.accept
        expected = f"2xx with Content-Type {accept} and a body of that type, for a {content_type} request"
        response = _answered(pair.sent, server, expected)
        answer_type = media_type(response.headers.get("Content-Type"))
        problem = (f"HTTP {response.status_code}; body {_excerpt(response)}" if not response.ok
                   else f"Content-Type {answer_type!r}" if answer_type != media_type(accept)
                   else pair.body_problem)
        if problem:
            raise Failed(f"{content_type} -> {accept}: {problem}", expected=expected, run=server,
                         request=pair.sent.request)
        answered.append(f"{content_type} -> {accept}")
    if sent.unprobed:
        raise Inconclusive(f"no sample request for {', '.join(sent.unprobed)} (give one in "
                           f"byoc-conformance.invocations); answered as declared: {', '.join(answered) or 'none'}")
    return f"{len(answered)} declared pair(s) answered as declared: {', '.join(answered)}"


@check("SERVE-07", "media-type-parameters-accepted", level="SHOULD", runs=(Hosting.shared,))
def media_type_parameters(ctx: Context) -> str:
    spelled_types = serving.media_type_spellings(ctx.hosting, ctx.declaration)
    server = ctx.hosting.healthy()
    compared: list[str] = []
    varies: list[str] = []  # request types whose plain answer changes from one request to the next
    for spelled in spelled_types:
        content_type, accept = spelled.content_type, spelled.accept
        plain = spelled.plain[0].request
        answer = _answered(spelled.plain[0], server, f"2xx for a declared {content_type} request")
        if not answer.ok:
            raise Inconclusive(f"the plain {content_type} request got HTTP {answer.status_code} "
                               f"{_excerpt(answer)}, so there is no answer to compare with (see SERVE-07, SERVE-10)",
                               run=server, request=plain)
        # The control: the same plain request again. Bodies that differ between the two are not compared.
        _answered(spelled.plain[1], server, f"2xx for a declared {content_type} request")
        if spelled.varies:
            varies.append(content_type)
        for one in spelled.spellings:
            request = one.request
            expected = (f"the same answer as to Content-Type: {content_type}, Accept: {accept} (HTTP "
                        f"{answer.status_code}, {len(answer.content)} bytes): media types are case-insensitive and "
                        "may carry parameters, as clients send them")
            response = _answered(one, server, expected)
            if not spelled.alike(response):
                raise Failed(f"HTTP {response.status_code} {_excerpt(response)}", expected=expected, run=server,
                             request=request)
            compared.append(f"{request.headers['Content-Type']} -> {request.headers['Accept']}")
    if not compared:
        raise Inconclusive("no sample request for any declared content type (give one in byoc-conformance.invocations)")
    return (f"{len(compared)} spellings answered as the plain types: {'; '.join(compared)}"
            + (f" (statuses only for {', '.join(varies)}: the same plain request was answered differently twice)"
               if varies else ""))


def _expect_status(ctx: Context, sent: Sent | None, status: int, expected: str) -> str:
    if sent is None:
        raise Inconclusive("no sample request for any declared content type (give one in byoc-conformance.invocations)")
    server, request = ctx.hosting.healthy(), sent.request
    response = _answered(sent, server, expected)
    if response.status_code != status:
        raise Failed(f"HTTP {response.status_code}; body {_excerpt(response)}", expected=expected, run=server,
                     request=request)
    return f"HTTP {status} for " + ", ".join(f"{k}: {v}" for k, v in request.headers.items())


@check("SERVE-11", "undeclared-content-type-is-415", runs=(Hosting.shared,))
def undeclared_content_type(ctx: Context) -> str:
    return _expect_status(ctx, serving.undeclared_content_type(ctx.hosting, ctx.declaration), 415,
                          f"415 Unsupported Media Type: {UNDECLARED_TYPE} is not among the declared "
                          f"SupportedContentTypes ({', '.join(ctx.declaration.content_types)})")


@check("SERVE-11", "unproducible-accept-is-406", runs=(Hosting.shared,))
def unproducible_accept(ctx: Context) -> str:
    return _expect_status(ctx, serving.unproducible_accept(ctx.hosting, ctx.declaration), 406,
                          f"406 Not Acceptable: {UNDECLARED_TYPE} is not among the declared "
                          f"SupportedResponseMIMETypes ({', '.join(ctx.declaration.response_types)})")

"""The real-time hosting checks (checks/hosting.py) judging records, without Docker: the servers are stand-ins that
answer from a function, and the planned runs (serving.repeated_pings, serving.malformed_payloads, ...) are given
their record through the hosting's plan before the check reads it. Each check's pass, fail and inconclusive (or not
applicable) branches, judged as the suite judges them (registry.judge), on the texts a user reads. No clock is read
and nothing sleeps: every time in here is a number in a record."""

from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from byoc_conformance import pipeline, serving
from byoc_conformance.checks import hosting as checks
from byoc_conformance.checks import pipeline as pipeline_checks
from byoc_conformance.declaration import DEFAULT_CSV, DEFAULTS, Declaration
from byoc_conformance.engine import DOCKER_DNS
from byoc_conformance.exchange import Answer
from byoc_conformance.hosting import Probing, Server, Stop, invocation
from byoc_conformance.outcome import CouldNotRun
from byoc_conformance.payloads import Payload, Traffic
from byoc_conformance.pipeline import BIND_TO_PORT_LABEL
from byoc_conformance.plan import Plan
from byoc_conformance.probing import Sent
from byoc_conformance.registry import CHECKS, Context, judge
from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable, Request, Verdict

# --- stand-ins ---------------------------------------------------------------------------------------------------


def answer(status: int = 200, body: bytes = b"1\n", content_type: str = "text/csv", *, seconds: float = 0.005,
           truncated: bool = False) -> Answer:
    """An answer as a record holds it: its time taken is a number, never measured here."""
    return Answer(status, body, {"Content-Type": content_type}, truncated, elapsed=timedelta(seconds=seconds))


def one_per_row(request: Request) -> Answer:
    """A conforming CSV server: one output record per input row."""
    return answer(200, b"".join(b"1\n" for line in request.body.splitlines() if line.strip()))


class Recorded:
    """A `serve` container as its run left it: how it started (healthy_after, exit_code, start_error, pings), its
    logs, and an answer function standing in for its HTTP server. Its outcome and its start-up pings read as
    hosting.Server's do (the same methods)."""

    label, logs, invocation_timeout = "`serve` container (recorded)", "", 70.0
    outcome = Server.outcome
    failed_pings = Server.failed_pings
    require_healthy = Server.require_healthy

    def __init__(self, respond: Callable[[Request], Answer] = one_per_row, *, role: str = "serve",
                 port: int = 8080, healthy_after: float | None = 0.5, exit_code: int | None = None,
                 start_error: str | None = None, last_ping: str | None = None, pings: dict[str, int] | None = None,
                 logs: str = "") -> None:
        self.respond, self.role, self.port, self.logs = respond, role, port, logs
        self.healthy_after, self.exit_code, self.start_error = healthy_after, exit_code, start_error
        self.last_ping = last_ping or ("HTTP 200" if healthy_after is not None else "HTTP 503")
        self.pings: Counter[str] = Counter(pings or {"HTTP 200": 1})
        self.unanswered: tuple[Request, str] | None = None
        self.sent: list[Request] = []

    def send(self, request: Request) -> Answer:
        self.sent.append(request)
        return self.respond(request)

    def exited(self) -> bool:
        return self.exit_code is not None

    def reproduce(self, repro_dir: Any) -> str:
        return f"docker run ... {self.role}"


class RecordedHosting(Probing):
    """The hosting the checks read: its shared server, its plan (where the planned runs' records are put), what
    the declaration says it takes, and its image's labels."""

    csv, examples, seed, startup_timeout = DEFAULT_CSV, 10, 1, 480.0

    def __init__(self, server: Recorded, traffic: Traffic | None = None, labels: dict[str, str] | None = None) -> None:
        self.shared, self.traffic, self.image_labels = server, traffic or Traffic(), labels or {}
        self.plan = Plan()

    def healthy(self) -> Recorded:  # as Hosting.healthy
        self.shared.require_healthy()
        return self.shared


def context(server: Recorded | None = None, *, traffic: Traffic | None = None, labels: dict[str, str] | None = None,
            declaration: Declaration = DEFAULTS, remote: bool = False, isolated: bool = True) -> Context:
    engine = SimpleNamespace(remote=remote, host_address="10.1.2.3" if remote else "127.0.0.1", isolated=isolated)
    return Context(engine=engine, image="algo:1", image_config={}, training=None,  # type: ignore[arg-type]
                   hosting=RecordedHosting(server or Recorded(), traffic, labels),  # type: ignore[arg-type]
                   declaration=declaration)


def record(ctx: Context, run: Callable[..., Any], outcome: Any) -> None:
    """The planned run `run` (a serving.@planned_for function) of this context's hosting, as if it had happened and
    given `outcome` (a record, or an exception it ended in)."""
    def happened() -> Any:
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    with contextlib.suppress(Exception):  # an exception is the run's outcome, raised again to whoever reads it
        ctx.hosting.plan.once((run.__module__, run.__qualname__), happened, hold=None)


def entry(check: Callable[[Context], str]):
    return next(one for one in CHECKS.values() if one.func is check)


def passes(check: Callable[[Context], str], ctx: Context) -> str:
    return judge(entry(check), ctx)


def verdict(kind: type[Verdict], check: Callable[[Context], str], ctx: Context, text: str) -> Verdict:
    """The check's verdict on `ctx`, as the suite judges it: of this kind, and saying `text`."""
    with pytest.raises(Verdict) as raised:
        judge(entry(check), ctx)
    assert type(raised.value) is kind, f"{type(raised.value).__name__}: {raised.value.observed}"
    assert text in raised.value.observed, raised.value.observed
    return raised.value


def refused(request: Request) -> Answer:
    raise requests.ConnectionError("Connection refused")


def timed_out(request: Request) -> Answer:
    raise requests.ReadTimeout("Read timed out. (read timeout=70)")


NEVER_HEALTHY = {"healthy_after": None, "last_ping": "no answer (ConnectionError)"}
CRASHED = {"healthy_after": None, "exit_code": 1, "last_ping": "no answer (ConnectionError)"}

# --- SERVE-05: healthy within the start-up window -----------------------------------------------------------------


def test_serve_05_passes_with_the_time_the_server_took():
    assert passes(checks.healthy_within_window, context(Recorded(healthy_after=12.3))) == \
        "/ping answered 200 12.30 s after start"


def test_serve_05_fails_a_server_that_exited_before_answering_200():
    failed = verdict(Failed, checks.healthy_within_window, context(Recorded(**CRASHED)),
                     "the container exited with code 1 before /ping answered 200")
    assert "within 480 s of start-up" in failed.expected


def test_serve_05_fails_a_server_still_not_healthy_at_the_end_of_the_window():
    verdict(Failed, checks.healthy_within_window, context(Recorded(healthy_after=None, last_ping="HTTP 503")),
            "/ping did not answer 200 within the start-up window (last: HTTP 503)")


def test_serve_05_is_inconclusive_when_the_container_could_not_start():
    verdict(Inconclusive, checks.healthy_within_window, context(Recorded(start_error="no such image")),
            "`serve` could not start: no such image")


# --- SERVE-02: listens on every interface, port 8080 --------------------------------------------------------------


def sockets(listening: list[tuple[str, int]] | None, **server: Any) -> Context:
    ctx = context(Recorded(**server))
    recorded = ctx.hosting.shared
    running = not (recorded.start_error or recorded.exited())  # as serving.shared_sockets looks before it reads
    record(ctx, serving.shared_sockets, serving.Sockets(running, listening if running else None))
    return ctx


@pytest.mark.parametrize("listening", [[("0.0.0.0", 8080)], [("::", 8080), ("127.0.0.1", 8080)]])
def test_serve_02_passes_a_server_on_every_interface(listening):
    summary = passes(checks.listens_on_all_interfaces, sockets(listening))
    assert summary.startswith("listening on ") and f"{listening[0][0]}:8080" in summary


def test_serve_02_fails_a_server_on_loopback_only():
    failed = verdict(Failed, checks.listens_on_all_interfaces, sockets([("127.0.0.1", 8080)]),
                     "port 8080 is bound to 127.0.0.1 only, which SageMaker's front end cannot reach")
    assert failed.expected == "an HTTP server on port 8080 of every interface (0.0.0.0 or ::)"


def test_serve_02_fails_a_server_on_another_port_and_says_where_it_listens():
    verdict(Failed, checks.listens_on_all_interfaces, sockets([("0.0.0.0", 5000)]),
            "nothing listens on port 8080; listening: 0.0.0.0:5000")
    verdict(Failed, checks.listens_on_all_interfaces, sockets([]), "nothing listens on port 8080; listening: nothing")


def test_serve_02_is_inconclusive_without_a_socket_table():
    verdict(Inconclusive, checks.listens_on_all_interfaces, sockets(None), "the image has no `cat`")


@pytest.mark.parametrize("server", [{"start_error": "port is already allocated"}, CRASHED])
def test_serve_02_is_inconclusive_without_a_running_server(server):
    verdict(Inconclusive, checks.listens_on_all_interfaces, sockets([("0.0.0.0", 8080)], **server),
            "no running server to look at: ")


# --- SERVE-03: connections accepted within 250 ms -----------------------------------------------------------------


def bursts(times: list[list[float | None]], proxied: bool | None = False, **options: Any) -> Context:
    ctx = context(**options)
    record(ctx, serving.connection_bursts, serving.Bursts(ctx.hosting.shared, proxied, times))
    return ctx


def test_serve_03_passes_bursts_accepted_in_time():
    assert passes(checks.accepts_connections_in_time, bursts([[0.002] * 16] * 3)).endswith(
        "the slowest accepted in 2 ms, 2 ms, 2 ms")


def test_serve_03_reproduction_on_a_remote_engine_reaches_the_engines_host():
    failed = verdict(Failed, checks.accepts_connections_in_time,
                     bursts([[0.3] * 16, [0.001] * 16, [0.001] * 16], remote=True),
                     "(16 of 48 in all); the slowest of each burst: 300 ms, 1 ms, 1 ms")
    assert failed.reproduce.startswith("python3 -m byoc_conformance.exchange 10.1.2.3 8080 16 3 3")
    assert failed.expected == "every connection accepted within 250 ms"


def test_serve_03_is_inconclusive_when_a_proxy_accepts_for_the_server():
    verdict(Inconclusive, checks.accepts_connections_in_time, bursts([], proxied=True),
            "the server's own acceptance is not seen")
    verdict(Inconclusive, checks.accepts_connections_in_time, bursts([], proxied=None), "could not be told")


def test_serve_03_is_inconclusive_on_a_server_that_never_became_healthy():
    verdict(Inconclusive, checks.accepts_connections_in_time, bursts([[0.001] * 16] * 3, server=Recorded(
        **NEVER_HEALTHY)), "the server never became healthy")


# --- SERVE-04: /ping answers 200 within 2 s, with an empty body ---------------------------------------------------


def pings(outcomes: list[tuple[str, bool, float]], **server: Any) -> Context:
    ctx = context(Recorded(**server))
    record(ctx, serving.repeated_pings, serving.Pings(ctx.hosting.shared, outcomes))
    return ctx


def test_serve_04_passes_twenty_pings_answered_200_with_their_median_and_slowest():
    outcomes = [("HTTP 200", True, 0.001)] * 10 + [("HTTP 200", True, 0.003)] * 9 + [("HTTP 200", True, 0.0125)]
    assert passes(checks.ping_answers_in_time, pings(outcomes)) == \
        "20 pings answered 200: p50 2.0 ms, max 12.5 ms"


def test_serve_04_fails_at_the_first_ping_not_answered_in_time():
    failed = verdict(Failed, checks.ping_answers_in_time,
                     pings([("HTTP 200", True, 0.001)] * 2 + [("no answer within 2 s", False, 2.0)]),
                     "ping 3 of 20: no answer within 2 s")
    assert failed.expected == "every /ping answers 200 within 2 s"
    assert failed.request == Request("ping", "GET", "/ping")


def test_serve_04_fails_a_ping_answered_other_than_200():
    failed = verdict(Failed, checks.ping_answers_in_time, pings([("HTTP 200", True, 0.001), ("HTTP 500", True, 0.01)]),
                     "ping 2 of 20 answered HTTP 500")
    assert failed.expected == "every /ping answers 200"


def test_serve_04_fails_on_the_start_up_window_pings_before_any_repeated_ping():
    ctx = context(Recorded(healthy_after=None, pings={"HTTP 404": 40, "no answer within 2 s": 2, "no connection": 5}))
    record(ctx, serving.repeated_pings, AssertionError("the repeated pings are not read"))
    verdict(Failed, checks.ping_answers_in_time, ctx,
            "none of 47 pings in the start-up window answered 200 within 2 s: 40 x HTTP 404, 2 x no answer within 2 s")


def test_serve_04_pings_of_a_server_that_never_became_healthy_are_inconclusive():
    ctx = context(Recorded(healthy_after=None, pings={"no connection": 300}, last_ping="no answer (ConnectionError)"))
    record(ctx, serving.repeated_pings, CouldNotRun("the server never became healthy: no connection"))
    verdict(Inconclusive, checks.ping_answers_in_time, ctx, "the server never became healthy: no connection")


def ping(outcome: str, response: Answer | None) -> Context:
    ctx = context()
    record(ctx, serving.one_ping, serving.Ping(outcome, response))
    return ctx


def test_serve_04_ping_body_empty_passes_an_empty_200():
    assert passes(checks.ping_body_empty, ping("HTTP 200", answer(200, b""))) == "/ping answered 200 with an empty body"


def test_serve_04_ping_body_empty_fails_a_body_and_shows_it():
    failed = verdict(Failed, checks.ping_body_empty, ping("HTTP 200", answer(200, b"healthy")),
                     "/ping answered with a body: b'healthy'")
    assert failed.expected == "200 with an empty body, the documented minimum"


def test_serve_04_ping_body_empty_shows_a_long_body_cut_short():
    body = b"x" * 4096
    failed = verdict(Failed, checks.ping_body_empty, ping("HTTP 200 with a body over 4096 bytes (cut there)",
                                                          answer(200, body, truncated=True)),
                     "/ping answered with a body: b'" + "x" * 200 + "...' (body cut at 4096 bytes)")
    assert len(failed.observed) < 300


def test_serve_04_ping_body_empty_is_inconclusive_without_an_answer():
    verdict(Inconclusive, checks.ping_body_empty, ping("no answer within 2 s", None),
            "/ping gave no answer to look at (no answer within 2 s)")


# --- SERVE-07 / SERVE-10: generated valid CSV ---------------------------------------------------------------------


def test_serve_07_valid_csv_passes_with_what_it_judged():
    summary = passes(checks.valid_csv_answered, context())
    assert summary.startswith("10 of 10 generated CSV payloads (") and summary.endswith("slowest answer 5 ms")


def test_serve_07_fails_an_answer_over_invoke_endpoints_limit():
    huge = b"1\n" * (checks.INVOKE_ENDPOINT_LIMIT // 2 + 1)
    verdict(Failed, checks.valid_csv_answered, context(Recorded(lambda request: answer(200, huge))),
            f"an answer of over {checks.INVOKE_ENDPOINT_LIMIT} bytes, InvokeEndpoint's response limit, to 1 rows")


def test_serve_07_fails_an_answer_after_sagemakers_60_s():
    failed = verdict(Failed, checks.valid_csv_answered, context(Recorded(lambda request: answer(200, seconds=61.5))),
                     "answered after 61.5 s; SageMaker gives up after 60 s")
    assert failed.expected == "2xx within 60 s for valid CSV"


def test_serve_07_fails_valid_csv_left_unanswered_on_the_smallest_payload():
    failed = verdict(Failed, checks.valid_csv_answered, context(Recorded(refused)), "no answer: Connection refused")
    assert len(failed.request.body.splitlines()) == 1  # shrunk to one row


def test_serve_07_a_request_unanswered_at_its_deadline_is_blamed_for_the_later_ones():
    server = Recorded(timed_out)
    first = invocation(b"1,2,3,4\n", "serve-07-concurrent.payload")
    server.unanswered = first, "no answer within 70 s"
    failed = verdict(Failed, checks.valid_csv_answered, context(server),
                     "no complete answer within 70 s (no answer within 70 s)")
    assert failed.request is first


def test_serve_07_declared_sample_unanswered_fails_with_the_sample_request():
    ctx = context(Recorded(refused), traffic=JSON_ONLY)
    failed = verdict(Failed, checks.valid_csv_answered, ctx, "no answer: Connection refused")
    assert failed.expected == "2xx within 60 s for the declared sample"
    assert failed.request.headers["Content-Type"] == "application/json"


def test_serve_07_declared_sample_passes_when_answered_2xx_each_time():
    ctx = context(Recorded(lambda request: answer(200, b'{"p": [1]}', "application/json")), traffic=JSON_ONLY)
    assert passes(checks.valid_csv_answered, ctx) == \
        "the declared sample answered 2xx 5 times (the declared application/json sample, Accept: application/json)"
    assert len(ctx.hosting.shared.sent) == checks.SAMPLE_REPEATS


def test_serve_07_without_csv_or_a_sample_nothing_valid_can_be_sent():
    ctx = context(traffic=Traffic(takes_csv=False, accept="application/json"))
    verdict(Inconclusive, checks.valid_csv_answered, ctx, "no valid request can be sent")


def test_serve_07_one_record_per_row_fails_a_count_that_differs():
    verdict(Failed, checks.one_record_per_row, context(Recorded(lambda request: answer(200, b"1\n2\n"))),
            "2 output records for 1 input rows: b'1\\n2\\n'")


def test_serve_07_one_record_per_row_passes_a_record_per_row():
    assert passes(checks.one_record_per_row, context()).startswith("10 of 10 generated CSV payloads")


def test_serve_07_one_record_per_row_needs_an_image_that_takes_csv():
    ctx = context(traffic=Traffic(takes_csv=False, accept="text/csv", sample=JSON_SAMPLE))
    verdict(Inconclusive, checks.one_record_per_row, ctx, "which the declaration's SupportedContentTypes do not list")


def test_serve_07_one_record_per_row_does_not_judge_a_server_that_never_answers():
    verdict(Failed, checks.one_record_per_row, context(Recorded(timed_out)),
            "no complete answer within 70 s (Read timed out. (read timeout=70))")


def test_serve_10_content_type_passes_answers_of_the_type_asked_for():
    ctx = context(Recorded(lambda request: answer(200, b"1\n", "text/csv; charset=utf-8")))
    assert passes(checks.response_content_type, ctx).startswith("10 of 10 generated CSV payloads")


def test_serve_10_content_type_fails_an_answer_of_another_type():
    failed = verdict(Failed, checks.response_content_type,
                     context(Recorded(lambda request: answer(200, b"[1]", "application/json"))),
                     "Content-Type 'application/json' in answer to Accept: text/csv")
    assert failed.expected == "the answer's Content-Type is what Accept asked for (text/csv)"


def test_serve_10_content_type_does_not_apply_to_an_image_that_takes_no_csv():
    verdict(NotApplicable, checks.response_content_type, context(traffic=JSON_ONLY),
            "the image takes no text/csv, so no CSV is generated for it")


# --- SERVE-07: a 6 MiB body, concurrent requests ------------------------------------------------------------------


def test_serve_07_a_6_mib_csv_body_answered_2xx_passes():
    summary = passes(checks.accepts_6_mib, context(Recorded(lambda request: answer(200, seconds=1.25))))
    assert summary.startswith("HTTP 200 for ") and summary.endswith(" bytes in 1.25 s")


def test_serve_07_a_6_mib_csv_body_refused_fails():
    failed = verdict(Failed, checks.accepts_6_mib, context(Recorded(lambda request: answer(413, b"too large"))),
                     "HTTP 413 for ")
    assert "body b'too large'" in failed.observed
    assert len(failed.request.body) <= checks.INVOKE_ENDPOINT_LIMIT


def test_serve_07_a_6_mib_body_unanswered_fails():
    verdict(Failed, checks.accepts_6_mib, context(Recorded(refused)), "no answer: Connection refused")


def together(outcomes: list[Sent], seconds: float = 0.42) -> Context:
    ctx = context()
    request = outcomes[0].request
    record(ctx, serving.concurrent_requests, serving.Together(request, outcomes, seconds))
    return ctx


CONCURRENT = invocation(b"1,2,3,4\n", "serve-07-concurrent.payload")


def test_serve_07_concurrent_requests_all_answered_2xx_pass():
    ctx = together([Sent(CONCURRENT, response=answer())] * 16)
    assert passes(checks.concurrent_requests, ctx) == ("16 concurrent requests (connections opened in turn, then all "
                                                       "sent together) answered 2xx in 0.42 s")


def test_serve_07_concurrent_requests_fail_on_the_first_problem_and_count_them():
    outcomes = [Sent(CONCURRENT, response=answer())] * 13 + [Sent(CONCURRENT, error="Connection reset by peer")] + \
        [Sent(CONCURRENT, response=answer(503, b"busy"))] * 2
    failed = verdict(Failed, checks.concurrent_requests, together(outcomes),
                     "3 of 16 concurrent requests failed: no answer: Connection reset by peer")
    assert failed.request is CONCURRENT
    assert failed.expected == "every request answered 2xx, as SageMaker sends requests concurrently"


# --- SERVE-11 / SERVE-04: malformed payloads, and /ping after them ------------------------------------------------


def malformed(*, found: Sent | None = None, crash: Sent | None = None, after: str = "HTTP 200", answered_4xx: int = 12,
              unrepeated: str = "", exit_code: int | None = None) -> Context:
    ctx = context()
    server = Recorded(role="serve-bad-requests", exit_code=exit_code)
    record(ctx, serving.malformed_payloads, serving.Malformed(server, found, unrepeated, crash, after, answered_4xx))
    return ctx


JUNK = Payload(b"\x00\x01", 0, "text/csv", "binary junk")
JUNK_REQUEST = invocation(JUNK.body, "serve-11-bad-request.payload")


def test_serve_11_malformed_payloads_answered_4xx_pass_and_ping_after_them_passes():
    ctx = malformed()
    assert passes(checks.malformed_input_is_4xx, ctx) == "12 malformed payloads answered 4xx"
    assert passes(checks.ping_after_malformed_input, ctx) == "/ping still answers 200 after the malformed payloads"


def test_serve_11_a_5xx_to_the_smallest_malformed_payload_fails_and_says_whether_it_repeated():
    found = Sent(JUNK_REQUEST, JUNK, response=answer(500, b"Traceback"))
    failed = verdict(Failed, checks.malformed_input_is_4xx,
                     malformed(found=found, unrepeated=" (this failure did not repeat when hypothesis replayed it)"),
                     "HTTP 500 for binary junk; body b'Traceback' (this failure did not repeat")
    assert failed.request is JUNK_REQUEST
    assert "never a 5xx or a dead server" in failed.expected


def test_serve_11_a_malformed_payload_left_unanswered_fails():
    found = Sent(JUNK_REQUEST, JUNK, error="Read timed out.", timed_out=True)
    verdict(Failed, checks.malformed_input_is_4xx, malformed(found=found), "no answer to binary junk: Read timed out.")


def test_serve_11_a_crash_fails_both_checks_with_the_crashed_server_as_evidence():
    crash = Sent(JUNK_REQUEST, JUNK, error="Connection aborted.", server_exited=True)
    ctx = malformed(crash=crash, exit_code=139, after="no answer (the container has exited); the container exited "
                    "with code 139")
    failed = verdict(Failed, checks.malformed_input_is_4xx, ctx,
                     "the container exited (code 139) on binary junk: Connection aborted.")
    assert failed.request is JUNK_REQUEST and failed.run.role == "serve-bad-requests"
    after = verdict(Failed, checks.ping_after_malformed_input, ctx,
                    "after malformed payloads /ping answers: no answer (the container has exited); the container "
                    "exited with code 139")
    assert after.expected == "the server stays up: /ping still answers 200"
    assert after.run is failed.run


def test_serve_04_ping_after_malformed_payloads_fails_without_a_failure_to_blame():
    after = verdict(Failed, checks.ping_after_malformed_input, malformed(after="HTTP 503"),
                    "after malformed payloads /ping answers: HTTP 503")
    assert after.run.role == "serve-bad-requests"


def test_serve_11_is_inconclusive_when_no_malformed_payload_was_answered():
    verdict(Inconclusive, checks.malformed_input_is_4xx, malformed(answered_4xx=0), "no malformed payload was sent")


# --- SERVE-13: SIGTERM ---------------------------------------------------------------------------------------------


def stopped(seconds: float | None, exit_code: int | None = 0) -> Context:
    ctx = context()
    ctx.hosting.stopped_by_sigterm = Stop(Recorded(role="serve-sigterm", exit_code=exit_code),  # type: ignore[arg-type]
                                          seconds)
    return ctx


def test_serve_13_passes_a_server_that_exits_in_time():
    assert passes(checks.sigterm_exits, stopped(1.234)) == "exited with code 0 1.23 s after SIGTERM"


def test_serve_13_fails_a_server_that_outlives_the_grace_period():
    failed = verdict(Failed, checks.sigterm_exits, stopped(None, exit_code=None), "still running 30 s after SIGTERM")
    assert failed.reproduce == "time docker stop --time 30 byoc-repro-serve-sigterm"
    assert "when SageMaker sends SIGKILL" in failed.expected


# --- PIPE-02 / PIPE-03: SAGEMAKER_BIND_TO_PORT and SAGEMAKER_SAFE_PORT_RANGE ---------------------------------------

BINDS = {BIND_TO_PORT_LABEL: "true"}


def alternate(listening: list[tuple[str, int]] | None, labels: dict[str, str] | None = None, **server: Any) -> Context:
    ctx = context(labels=BINDS if labels is None else labels)
    record(ctx, pipeline.on_alternate_port,
           (Recorded(role="serve-bind-to-port", port=pipeline.ALTERNATE_PORT, **server), listening))
    return ctx


@pytest.mark.parametrize("check", [pipeline_checks.honours_bind_to_port, pipeline_checks.second_port_in_safe_range])
def test_pipe_02_and_03_do_not_apply_to_an_image_without_the_label(check):
    ctx = alternate([], labels={BIND_TO_PORT_LABEL: "false"})
    verdict(NotApplicable, check, ctx, f"the image does not carry the label {BIND_TO_PORT_LABEL}=true")
    assert pipeline_checks._alternate_port_runs(ctx) is None  # and its server on the other port is not started


def test_pipe_02_passes_a_server_healthy_on_the_port_it_is_given():
    ctx = alternate([("0.0.0.0", 9090)], healthy_after=2.0)
    assert passes(pipeline_checks.honours_bind_to_port, ctx) == \
        "with SAGEMAKER_BIND_TO_PORT=9090: /ping answered 200 2.00 s after start"
    assert pipeline_checks._alternate_port_runs(ctx)[0].port == 9090


def test_pipe_02_fails_a_server_not_healthy_on_the_port_it_is_given():
    not_healthy = alternate(None, healthy_after=None, last_ping="no answer (ConnectionError)")
    failed = verdict(Failed, pipeline_checks.honours_bind_to_port, not_healthy,
                     "with SAGEMAKER_BIND_TO_PORT=9090: /ping did not answer 200 within the start-up window")
    assert "serves on the port SAGEMAKER_BIND_TO_PORT names" in failed.expected


def test_pipe_03_passes_a_second_port_in_the_safe_range_and_ignores_dockers_resolver():
    ctx = alternate([("0.0.0.0", 9090), ("0.0.0.0", 9150), (DOCKER_DNS, 43211)])
    assert passes(pipeline_checks.second_port_in_safe_range, ctx) == \
        "with SAGEMAKER_BIND_TO_PORT=9090, SAGEMAKER_SAFE_PORT_RANGE=9100-9199, its other port(s) 9150 are in the range"


def test_pipe_03_fails_a_second_port_outside_the_safe_range():
    failed = verdict(Failed, pipeline_checks.second_port_in_safe_range,
                     alternate([("0.0.0.0", 9090), ("127.0.0.1", 8081), ("0.0.0.0", 9101)]),
                     "SAGEMAKER_SAFE_PORT_RANGE=9100-9199, it also listens on 127.0.0.1:8081")
    assert "9101" not in failed.observed
    assert failed.reproduce.startswith("docker exec byoc-repro-serve-bind-to-port cat /proc/net/tcp")


def test_pipe_03_does_not_apply_without_a_second_port():
    verdict(NotApplicable, pipeline_checks.second_port_in_safe_range,
            alternate([("0.0.0.0", 9090), (DOCKER_DNS, 43211)]), "nothing listens but port 9090: no second port")


def test_pipe_03_is_inconclusive_without_a_healthy_server_or_its_socket_table():
    verdict(Inconclusive, pipeline_checks.second_port_in_safe_range, alternate(None, **CRASHED),
            "the container exited with code 1 before /ping answered 200 (last: no answer (ConnectionError)), so its "
            "ports were not read")
    verdict(Inconclusive, pipeline_checks.second_port_in_safe_range, alternate(None),
            "the server's socket table could not be read")


# --- SERVE-15: no outbound network --------------------------------------------------------------------------------

NO_ROUTE = "urllib3 ... Failed to establish a new connection: [Errno 101] Network is unreachable"


def isolated(server: Recorded, traffic: Traffic | None = None) -> Context:
    return context(server, traffic=traffic, declaration=dataclasses.replace(DEFAULTS, network_isolation=True))


def test_serve_15_fails_a_healthy_server_that_cannot_answer_without_a_route_out():
    server = Recorded(lambda request: answer(500, b"cannot download"), logs=f"start\n{NO_ROUTE}\n")
    failed = verdict(Failed, checks.works_without_outbound_network, isolated(server),
                     "healthy, but HTTP 500 for valid CSV with no route out; body b'cannot download'; it reached for "
                     "the network: urllib3")
    assert "EnableNetworkIsolation" in failed.expected and failed.request.body


def test_serve_15_a_failed_answer_with_no_sign_of_the_network_says_no_more():
    failed = verdict(Failed, checks.works_without_outbound_network,
                     isolated(Recorded(lambda request: answer(500, b"bad model"))),
                     "healthy, but HTTP 500 for valid CSV with no route out; body b'bad model'")
    assert "reached for the network" not in failed.observed


def test_serve_15_passes_a_server_that_reached_for_the_network_and_carried_on():
    summary = passes(checks.works_without_outbound_network, isolated(Recorded(logs=f"{NO_ROUTE}\nserving\n")))
    assert summary.startswith("/ping answered 200 and valid CSV got HTTP 200 with no route out")
    assert summary.endswith("; it reached for the network and carried on: " + NO_ROUTE)


def test_serve_15_without_a_valid_request_to_send_judges_ping_alone():
    summary = passes(checks.works_without_outbound_network,
                     isolated(Recorded(), Traffic(takes_csv=False, accept="application/json")))
    assert summary == "/ping answered 200 with no route out (an internal network; the harness its only peer)"


def test_serve_15_is_inconclusive_when_the_container_could_not_start():
    verdict(Inconclusive, checks.works_without_outbound_network, isolated(Recorded(start_error="no such network")),
            "`serve` could not start: no such network")


def test_serve_15_an_unanswered_request_fails():
    verdict(Failed, checks.works_without_outbound_network, isolated(Recorded(refused)), "no answer: Connection refused")


# --- SERVE-12: a read-only model ----------------------------------------------------------------------------------


def read_only(shared: Recorded, writable: Recorded | None = None) -> Context:
    ctx = context(shared)
    if writable is not None:
        record(ctx, serving.with_writable_model, writable)
    return ctx


def test_serve_12_passes_a_server_healthy_with_a_read_only_model_and_starts_no_writable_twin():
    ctx = read_only(Recorded())
    assert passes(checks.serves_from_read_only_model, ctx) == "healthy with /opt/ml/model mounted read-only"
    assert checks._writable_model_run(ctx) is None


def test_serve_12_fails_a_server_that_crashes_read_only_and_serves_writable():
    ctx = read_only(Recorded(**CRASHED), Recorded(role="serve-writable-model", healthy_after=3.0))
    failed = verdict(Failed, checks.serves_from_read_only_model, ctx,
                     "with /opt/ml/model read-only: the container exited with code 1 before /ping answered 200 (last: "
                     "no answer (ConnectionError)); with it writable: /ping answered 200 3.00 s after start")
    assert failed.expected == "a server that only reads /opt/ml/model, which SageMaker mounts read-only"
    assert checks._writable_model_run(ctx).role == "serve-writable-model"


def test_serve_12_is_inconclusive_when_the_writable_twin_fails_too():
    ctx = read_only(Recorded(**CRASHED), Recorded(role="serve-writable-model", **CRASHED))
    verdict(Inconclusive, checks.serves_from_read_only_model, ctx,
            "the server fails with a writable /opt/ml/model too: the container exited with code 1")


def test_serve_12_is_inconclusive_for_a_server_that_neither_served_nor_exited():
    ctx = read_only(Recorded(**NEVER_HEALTHY))
    verdict(Inconclusive, checks.serves_from_read_only_model, ctx, "not healthy, but it did not exit either: ")
    assert checks._writable_model_run(ctx) is None


def test_serve_12_is_inconclusive_when_the_container_could_not_start():
    ctx = read_only(Recorded(start_error="no such image"))
    verdict(Inconclusive, checks.serves_from_read_only_model, ctx, "`serve` could not start: no such image")


# --- SERVE-10: declared content-type pairs ------------------------------------------------------------------------

JSON_SAMPLE = Payload(b'{"instances": [[1.0, 2.0, 3.0, 4.0]]}', 1, "application/json", "the declared sample")
JSON_ONLY = Traffic(takes_csv=False, accept="application/json", sample=JSON_SAMPLE)


def declared(content_types: list[str], response_types: list[str], samples: dict[str, bytes] | None = None,
             respond: Callable[[Request], Answer] = one_per_row, **server: Any) -> Context:
    declaration = dataclasses.replace(DEFAULTS, inference={"SupportedContentTypes": content_types,
                                                           "SupportedResponseMIMETypes": response_types},
                                      invocation_samples=samples or {})
    return context(Recorded(respond, **server), declaration=declaration)


def as_asked(request: Request) -> Answer:
    """A server that answers each request in the type its Accept asks for."""
    accept = request.headers["Accept"]
    return answer(200, b'{"predictions": [1]}' if "json" in accept.lower() else b"1\n", accept)


def test_serve_10_declared_pairs_pass_when_each_is_answered_as_declared():
    ctx = declared(["text/csv", "application/json"], ["text/csv", "application/json"],
                   {"application/json": JSON_SAMPLE.body}, as_asked)
    assert passes(checks.declared_content_type_pairs, ctx) == (
        "4 declared pair(s) answered as declared: text/csv -> text/csv, text/csv -> application/json, "
        "application/json -> text/csv, application/json -> application/json")


def test_serve_10_declared_pairs_are_inconclusive_for_a_type_without_a_sample_and_say_what_was_answered():
    ctx = declared(["text/csv", "image/png"], ["text/csv"], respond=as_asked)
    verdict(Inconclusive, checks.declared_content_type_pairs, ctx,
            "no sample request for image/png (give one in byoc-conformance.invocations); answered as declared: "
            "text/csv -> text/csv")
    only_png = declared(["image/png"], ["text/csv"], respond=as_asked)
    verdict(Inconclusive, checks.declared_content_type_pairs, only_png, "answered as declared: none")


def test_serve_10_declared_pairs_fail_an_error_answer():
    failed = verdict(Failed, checks.declared_content_type_pairs,
                     declared(["text/csv"], ["application/json"], respond=lambda request: answer(500, b"no")),
                     "text/csv -> application/json: HTTP 500; body b'no'")
    assert failed.expected == "2xx with Content-Type application/json and a body of that type, for a text/csv request"


def test_serve_10_declared_pairs_fail_an_answer_of_another_type():
    verdict(Failed, checks.declared_content_type_pairs,
            declared(["text/csv"], ["application/json"], respond=lambda request: answer(200, b"1\n", "text/csv")),
            "text/csv -> application/json: Content-Type 'text/csv'")


@pytest.mark.parametrize(("kind", "body", "said"), [
    ("application/json", b"{not json", "the body is not application/json (Expecting property name"),
    ("application/vnd.api+json", b"[1,", "the body is not application/vnd.api+json ("),
    ("text/csv", b"\xff\xfe", "the body is not text/csv ('utf-8' codec can't decode"),
])
def test_serve_10_declared_pairs_fail_a_body_that_is_not_of_its_type(kind, body, said):
    failed = verdict(Failed, checks.declared_content_type_pairs,
                     declared(["text/csv"], [kind], respond=lambda request: answer(200, body, kind)), said)
    assert failed.observed.startswith(f"text/csv -> {kind}: ")


def test_serve_10_declared_pairs_do_not_apply_without_an_inference_specification():
    verdict(NotApplicable, checks.declared_content_type_pairs, context(), "no InferenceSpecification was declared")


def test_serve_10_declared_pairs_of_a_server_that_never_became_healthy_are_inconclusive():
    verdict(Inconclusive, checks.declared_content_type_pairs,
            declared(["text/csv"], ["text/csv"], **NEVER_HEALTHY), "the server never became healthy: /ping did not")


# --- SERVE-07: media-type spellings -------------------------------------------------------------------------------


def test_serve_07_media_type_spellings_are_not_compared_with_an_error_answer():
    ctx = declared(["text/csv"], ["text/csv"], respond=lambda request: answer(500, b"broken"))
    failed = verdict(Inconclusive, checks.media_type_parameters, ctx,
                     "the plain text/csv request got HTTP 500 b'broken', so there is no answer to compare with")
    assert failed.request.headers == {"Content-Type": "text/csv", "Accept": "text/csv"}


def test_serve_07_media_type_spellings_skip_a_type_without_a_sample_and_need_one_at_least():
    ctx = declared(["image/png", "application/json"], ["application/json"], {"application/json": JSON_SAMPLE.body},
                   as_asked)
    summary = passes(checks.media_type_parameters, ctx)
    assert summary.startswith("5 spellings answered as the plain types: application/json; charset=utf-8 -> ")
    assert "image/png" not in summary
    verdict(Inconclusive, checks.media_type_parameters, declared(["image/png"], ["text/csv"]),
            "no sample request for any declared content type")


# --- SERVE-11: 415 and 406 ----------------------------------------------------------------------------------------


def strict(request: Request) -> Answer:
    """A server that refuses what it was not declared to take or give."""
    if request.headers["Content-Type"] == checks.UNDECLARED_TYPE:
        return answer(415, b"unsupported")
    if request.headers["Accept"] == checks.UNDECLARED_TYPE:
        return answer(406, b"not acceptable")
    return one_per_row(request)


def test_serve_11_undeclared_content_type_answered_415_passes():
    assert passes(checks.undeclared_content_type, declared(["text/csv"], ["text/csv"], respond=strict)) == \
        f"HTTP 415 for Content-Type: {checks.UNDECLARED_TYPE}, Accept: text/csv"


def test_serve_11_unproducible_accept_answered_406_passes():
    assert passes(checks.unproducible_accept, declared(["text/csv"], ["text/csv"], respond=strict)) == \
        f"HTTP 406 for Content-Type: text/csv, Accept: {checks.UNDECLARED_TYPE}"


def test_serve_11_undeclared_content_type_answered_200_fails():
    failed = verdict(Failed, checks.undeclared_content_type, declared(["text/csv"], ["text/csv"]),
                     "HTTP 200; body b'")
    assert failed.expected == (f"415 Unsupported Media Type: {checks.UNDECLARED_TYPE} is not among the declared "
                               "SupportedContentTypes (text/csv)")
    assert failed.request.headers["Content-Type"] == checks.UNDECLARED_TYPE


def test_serve_11_unproducible_accept_answered_otherwise_fails():
    failed = verdict(Failed, checks.unproducible_accept,
                     declared(["text/csv"], ["text/csv", "application/json"], respond=lambda request: answer(400)),
                     "HTTP 400; body b'1\\n'")
    assert "SupportedResponseMIMETypes (text/csv, application/json)" in failed.expected


def test_serve_11_takes_the_first_declared_type_that_has_a_sample():
    ctx = declared(["image/png", "application/json"], ["application/json"], {"application/json": JSON_SAMPLE.body},
                   lambda request: answer(406))
    assert passes(checks.unproducible_accept, ctx).startswith("HTTP 406 for Content-Type: application/json")
    assert ctx.hosting.shared.sent[0].body == JSON_SAMPLE.body


@pytest.mark.parametrize("check", [checks.undeclared_content_type, checks.unproducible_accept])
def test_serve_11_is_inconclusive_without_a_sample_of_any_declared_type(check):
    verdict(Inconclusive, check, declared(["image/png"], ["application/json"]),
            "no sample request for any declared content type (give one in byoc-conformance.invocations)")


def test_serve_11_an_unanswered_request_fails():
    verdict(Failed, checks.unproducible_accept, declared(["text/csv"], ["text/csv"], respond=timed_out),
            "no complete answer within 70 s (Read timed out. (read timeout=70))")

"""ASYNC-01: its run (asynchronous.large_request) on stand-in servers, and the check's judgement of the record it
leaves (asynchronous.LargeRequest): a 2xx to the large body passes, a refusal or no answer fails, and a server that
does not start (its own, or the shared `serve` before it) fails too. The check runs on real images in
tests/integration (the async and async-caps-body samples)."""

import dataclasses
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import requests

from byoc_conformance import asynchronous as runs
from byoc_conformance.checks import asynchronous
from byoc_conformance.declaration import DEFAULT_CSV, DEFAULTS
from byoc_conformance.exchange import Answer
from byoc_conformance.hosting import invocation
from byoc_conformance.payloads import Payload, Traffic
from byoc_conformance.plan import Plan
from byoc_conformance.probing import Sent
from byoc_conformance.verdicts import Failed, Inconclusive, NotApplicable

from .fakes import FakeHosting
from .test_claims import StoppedServer


class AnsweringServer(StoppedServer):
    """A healthy server that answers every exchange with `status`, or raises `error`; `dies` says whether the engine
    saw its container die."""

    def __init__(self, status=200, error=None, dies=False):
        super().__init__("serve-async", healthy=True)
        self.status, self.error, self.dies = status, error, dies
        self.exchanges = []

    def died(self):
        return self.dies

    def exchange(self, method, path, *, deadline, **options):
        self.exchanges.append((method, path, deadline, options))
        if self.error is not None:
            raise self.error
        return Answer(self.status, b"0.5\n" if self.status < 300 else b"too large")


def context(server, shared=None, claimed=True, traffic=None):
    """A context whose large request goes, through the real run, to `server`."""
    shared = shared or StoppedServer("serve", healthy=True)

    def healthy():
        shared.require_healthy()
        return shared

    @contextmanager
    def fresh(endpoint):
        yield server

    hosting = FakeHosting(plan=Plan(), csv=DEFAULT_CSV, async_payload_mb=1, healthy=healthy, fresh=fresh,
                          **({"traffic": traffic} if traffic else {}))
    return SimpleNamespace(hosting=hosting, declaration=dataclasses.replace(DEFAULTS, async_inference=claimed))


def recorded(record):
    """A context whose large request left `record`."""
    hosting = FakeHosting(plan=Plan())
    hosting.plan.once((runs.__name__, runs.large_request.__qualname__), lambda: record)
    return SimpleNamespace(hosting=hosting, declaration=dataclasses.replace(DEFAULTS, async_inference=True))


def answered(status, body, truncated=False):
    """REQUEST and its answer."""
    return Sent(REQUEST, response=Answer(status, body, truncated=truncated))


REQUEST = invocation(b"1,2,3,4\n" * 131072, "async.payload")  # 1 MiB of CSV


def test_a_2xx_to_the_large_body_passes_and_a_refusal_fails():
    assert asynchronous.large_asynchronous_request(context(AnsweringServer(200))).startswith("HTTP 200 for the 1.0 MiB")
    with pytest.raises(Failed, match="HTTP 413 for the 1.0 MiB CSV body"):
        asynchronous.large_asynchronous_request(context(AnsweringServer(413)))


def test_a_server_that_does_not_start_fails_async_01_its_own_or_the_shared_one():
    own = StoppedServer("serve-async", exit_code=1)
    with pytest.raises(Failed, match=r"^the server sent the asynchronous request: the container exited with code 1"):
        asynchronous.large_asynchronous_request(context(own))
    shared = StoppedServer("serve", exit_code=2)
    with pytest.raises(Failed, match=r"^`serve` itself \(the shared server, started before the server sent the "
                       r"asynchronous request\): the container exited with code 2") as failed:
        asynchronous.large_asynchronous_request(context(AnsweringServer(200), shared=shared))
    assert failed.value.run is shared


def test_without_the_claim_it_does_not_apply():
    with pytest.raises(NotApplicable, match="asynchronous inference"):
        asynchronous.large_asynchronous_request(context(StoppedServer("serve-async"), claimed=False))


def test_an_image_that_takes_no_csv_is_sent_its_declared_sample_grown_to_the_size():
    sample = Payload(b'{"instances": [[1.0, 2.0, 3.0, 4.0]]}', 1, "application/json")
    traffic = Traffic(takes_csv=False, accept="application/json", sample=sample)
    verdict = asynchronous.large_asynchronous_request(context(AnsweringServer(200), traffic=traffic))
    assert verdict.startswith("HTTP 200 for the 1.0 MiB application/json body"), verdict


def test_the_run_posts_the_body_within_the_asynchronous_timeout_and_records_the_answer():
    server = AnsweringServer(200)
    record = runs.large_request(context(server).hosting)
    (method, path, deadline, options), = server.exchanges
    assert (method, path, deadline) == ("POST", "/invocations", runs.ASYNC_TIMEOUT)
    assert options["data"] == record.sent.request.body and len(record.sent.request.body) > 1000 * 1000
    assert record.server is server and record.sent.status == 200
    assert (record.sent.error, record.sent.server_exited) == (None, False) and record.seconds >= 0


def test_the_run_records_no_answer_as_a_value_and_whether_the_container_died():
    sent = runs.large_request(context(AnsweringServer(error=requests.ConnectionError("reset"), dies=True)).hosting).sent
    assert (sent.response, sent.error, sent.server_exited) == (None, "ConnectionError: reset", True)
    sent = runs.large_request(context(AnsweringServer(error=requests.ReadTimeout("900 s"))).hosting).sent
    assert (sent.error, sent.server_exited) == ("ReadTimeout: 900 s", False)


def test_no_answer_fails_saying_whether_the_server_died():
    server = StoppedServer("serve-async", healthy=True)
    died = runs.LargeRequest(server, Sent(REQUEST, error="ConnectionError: reset", server_exited=True), 3.0)
    with pytest.raises(Failed, match=r"^the server died on the 1.0 MiB CSV body \(1048576 bytes\): ConnectionError: "
                       "reset$") as failed:
        asynchronous.large_asynchronous_request(recorded(died))
    assert failed.value.run is server and failed.value.request is REQUEST
    assert "within InvocationTimeoutSeconds' default of 900 s" in failed.value.expected
    alive = dataclasses.replace(died, sent=Sent(REQUEST, error="ReadTimeout: 900 s"))
    with pytest.raises(Failed, match=r"^no answer to the 1.0 MiB CSV body \(1048576 bytes\): ReadTimeout: 900 s$"):
        asynchronous.large_asynchronous_request(recorded(alive))


def test_an_empty_2xx_is_inconclusive_and_a_cut_answer_says_so():
    server = StoppedServer("serve-async", healthy=True)
    with pytest.raises(Inconclusive, match="HTTP 204 with an empty body for the 1.0 MiB CSV body"):
        asynchronous.large_asynchronous_request(recorded(runs.LargeRequest(server, answered(204, b""), 1.0)))
    verdict = asynchronous.large_asynchronous_request(
        recorded(runs.LargeRequest(server, answered(200, b"0.5\n" * 4, truncated=True), 12.34)))
    assert verdict == ("HTTP 200 for the 1.0 MiB CSV body (1048576 bytes) in 12.3 s (16 bytes of answer (body cut at "
                       "16 bytes))")

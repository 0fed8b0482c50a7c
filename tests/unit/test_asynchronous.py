"""ASYNC-01's judgement, in process, through its real run (_large_request) on stand-in servers: a 2xx to the large
body passes, a refusal fails, and a server that does not start (its own, or the shared `serve` before it) fails too.
The check runs on real images in tests/integration (the async and async-caps-body samples)."""

import dataclasses
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import requests

from byoc_conformance.checks import asynchronous
from byoc_conformance.declaration import DEFAULT_CSV, DEFAULTS
from byoc_conformance.payloads import Payload, Traffic
from byoc_conformance.plan import Plan
from byoc_conformance.verdicts import Failed, NotApplicable

from .fakes import FakeHosting
from .test_claims import StoppedServer


class AnsweringServer(StoppedServer):
    """A healthy server that answers every exchange with `status`."""

    def __init__(self, status):
        super().__init__("serve-async", healthy=True)
        self.status = status

    def died(self):
        return False

    def exchange(self, method, path, *, deadline, **options):
        response = requests.Response()
        response.status_code, response._content = self.status, b"0.5\n" if self.status < 300 else b"too large"
        return response


def context(server, shared=None, claimed=True, traffic=None):
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

"""The batch runs that follow the default job on its server (byoc_conformance/batch.py): what each sends, in which
order, and what it records; against a fake server that answers from a script and remembers what it was sent."""

import contextlib
from datetime import timedelta

import pytest
import requests

from byoc_conformance import batch
from byoc_conformance.batch import CHUNKED, MIB, DefaultJob, Job, Transform, resolve
from byoc_conformance.declaration import DEFAULT_CSV
from byoc_conformance.exchange import Answer, DeadlineExceeded
from byoc_conformance.hosting import Probing
from byoc_conformance.outcome import CouldNotRun
from byoc_conformance.payloads import Traffic
from byoc_conformance.plan import Plan


def response(status=200, body=b""):
    return Answer(status, body, elapsed=timedelta(milliseconds=5))


class Server:
    """Answers each POST /invocations with one "0.5" line per row (or with what `answer` says), and /ping 200."""

    label, role, logs, port = "batch transform server (fake)", "batch", "", 8080
    invocation_timeout = 30.0
    unanswered = None

    def __init__(self, answer=None):
        self.answer = answer or (lambda request: response(200, b"0.5\n" * len(request.body.splitlines())))
        self.sent = []  # (name, chunked)

    def send(self, request, **options):
        self.sent.append((request.name, "data" in options))
        return self.answer(request)

    def ping(self):
        self.sent.append(("ping", False))
        return "HTTP 200", response()


class Hosting(Probing):
    csv, batch_input_mb = DEFAULT_CSV, 0.01

    def __init__(self, server, limit=6):
        self.plan, self.traffic = Plan(), Traffic()
        job = DefaultJob(server, 200, b"{}", Transform(resolve(Job(), {"MaxPayloadInMB": limit})))
        self.plan.once((batch.__name__, "default_job"), lambda: job)

    def require_csv(self):
        pass


def test_the_max_payload_run_sends_a_body_of_just_under_the_resolved_size():
    server = Server()
    record = batch.max_payload(Hosting(server, limit=1))
    assert record.limit == 1 and not record.streamed and record.sent.ok
    assert MIB - 100 < len(record.sent.request.body) <= MIB
    assert server.sent == [("batch-max-payload.payload", False)]


def test_under_max_payload_0_the_run_streams_a_payload_over_the_default_limit():
    server = Server()
    record = batch.max_payload(Hosting(server, limit=0))
    assert record.streamed and record.sent.ok and record.sent.payload.rows == len(record.sent.response.content.split())
    assert len(record.sent.request.body) > 6 * MIB and batch.chunked(record.sent.request)
    assert server.sent == [("batch-max-payload-chunked.payload", True)]


def test_a_streamed_request_without_an_answer_is_recorded_with_its_own_words():
    def refuse(request):
        raise DeadlineExceeded("not sent: batch-payload-1: no complete answer within 30 s")

    request = batch.invocation(b"1,2\n", "p", extra_headers=CHUNKED)
    sent = batch.streamed(Server(refuse), request)
    assert sent.timed_out and sent.error == "not sent: batch-payload-1: no complete answer within 30 s"
    assert sent.blamed is None and not sent.answered

    def reset(request):
        raise requests.ConnectionError("Connection reset by peer")

    sent = batch.streamed(Server(reset), request)
    assert not sent.timed_out and sent.error == "Connection reset by peer"


def test_the_runs_on_the_default_job_s_server_send_in_the_checks_order_whichever_is_read_first():
    server = Server(lambda request: response(415 if b"not" in request.body else 200,
                                             b"0.5\n" * len(request.body.splitlines())))
    hosting = Hosting(server)
    record = batch.bad_record(hosting)  # read first: the runs it follows go first
    names = [name for name, _ in server.sent]
    assert names[0] == "batch-max-payload.payload"
    assert set(names[1:-2]) == {f"batch-payload-{n}" for n in range(1, len(names) - 2)}  # the .out file's payloads
    assert names[-2:] == ["batch-bad-record.payload", "ping"]
    assert record.sent.response.status_code == 415 and record.ping == "HTTP 200"
    out = batch.out_file_job(hosting)  # remembered: nothing more is sent
    assert len(server.sent) == len(names)
    assert out.labels == [line.split(b",")[0] for line in batch.batch_input(hosting).splitlines()]
    assert out.transform.output.splitlines()[0] == out.labels[0] + b",0.5"


def test_a_bad_record_without_an_answer_is_not_followed_by_a_ping():
    def reset(request):
        raise requests.ConnectionError("Connection aborted.")

    server = Server(reset)
    record = batch.bad_record(Hosting(server))
    assert record.sent.error == "Connection aborted." and record.ping is None
    assert "ping" not in [name for name, _ in server.sent]


def test_a_run_that_follows_another_runs_even_when_that_one_could_not():
    server = Server()
    hosting = Hosting(server)

    def could_not():
        raise CouldNotRun("no body of 6291456 bytes can be built")

    with contextlib.suppress(CouldNotRun):
        hosting.plan.once((batch.__name__, "max_payload"), could_not)
    with pytest.raises(CouldNotRun):
        batch.max_payload(hosting)
    assert batch.out_file_job(hosting).transform.failures == []

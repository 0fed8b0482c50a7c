"""MaxPayloadInMB 0: batch payloads of any size, sent as SageMaker sends them then, with chunked transfer encoding;
and BATCH-04 judged on such a payload. Against servers on loopback that take chunked bodies or refuse them (the
samples batch-payload-unlimited and batch-payload-unlimited-needs-length prove the same on real containers)."""

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from byoc_conformance import batch, exchange, hosting
from byoc_conformance.batch import CHUNKED, MIB, Job, Transform, resolve, transform
from byoc_conformance.checks import batch as batch_checks
from byoc_conformance.declaration import DEFAULT_CSV, DEFAULTS
from byoc_conformance.hosting import invocation
from byoc_conformance.plan import Plan
from byoc_conformance.registry import Context
from byoc_conformance.verdicts import Failed

UNLIMITED = {"MaxConcurrentTransforms": 2, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 0}


def read_chunked(rfile) -> tuple[bytes, int]:
    """A chunked body and how many chunks it came in."""
    body, chunks = bytearray(), 0
    while size := int(rfile.readline().split(b";")[0], 16):
        body += rfile.read(size)
        assert rfile.read(2) == b"\r\n"
        chunks += 1
    while rfile.readline() not in (b"\r\n", b""):
        pass
    return bytes(body), chunks


class Invocations(BaseHTTPRequestHandler):
    """One output record per row; how each request came is kept in `seen`. The server's `mode`: "chunked" takes
    chunked bodies, "needs-length" answers 411 to them, "drops-a-row" answers one record short."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        chunked = self.headers.get("Transfer-Encoding") == "chunked"
        if chunked:
            body, chunks = read_chunked(self.rfile)
        else:
            body, chunks = self.rfile.read(int(self.headers.get("Content-Length") or 0)), 0
        self.server.seen.append({"chunked": chunked, "chunks": chunks, "length": self.headers.get("Content-Length"),
                                 "body": body})
        rows = [row for row in body.splitlines() if row.strip()]
        if chunked and self.server.mode == "needs-length":
            return self.answer(411, b"a body needs a Content-Length\n")
        if self.server.mode == "drops-a-row":
            rows = rows[1:]
        self.answer(200, b"".join(b"0.5\n" for _ in rows))

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class LoopbackServer:
    """What batch and the checks use of hosting.Server, reached on loopback."""

    label, role, logs, port = "`serve` container (loopback)", "batch", "", 8080
    invocation_timeout = 30.0

    def __init__(self, url):
        self.base, self.session, self.unanswered = url, exchange.session(), None

    def exchange(self, method, path, *, deadline, **options):
        return exchange.exchange(self.session, method, self.base + path, deadline=deadline, **options)

    send = hosting.Server.send  # the real one: its deadline, and nothing sent after a request went unanswered

    def reproduce(self, repro_dir):
        return "docker run ..."


@pytest.fixture
def serving():
    """A loopback server whose `mode` a test sets; returns (server, httpd)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Invocations)
    httpd.seen, httpd.mode = [], "chunked"
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield LoopbackServer(f"http://127.0.0.1:{httpd.server_address[1]}"), httpd
    httpd.shutdown()
    httpd.server_close()


def test_a_chunked_request_goes_in_chunks_without_a_content_length(serving):
    server, httpd = serving
    body = b"1,2,3,4\n" * 40_000  # 320,000 bytes: several chunks
    response = batch.send(server, invocation(body, "p", extra_headers=CHUNKED))
    assert response.status_code == 200 and len(response.content.splitlines()) == 40_000
    (seen,) = httpd.seen
    assert seen["chunked"] and seen["length"] is None and seen["body"] == body
    assert seen["chunks"] == -(-len(body) // batch.PIECE)


def test_a_request_without_the_header_is_sent_with_its_length(serving):
    server, httpd = serving
    batch.send(server, invocation(b"1,2,3,4\n", "p"))
    assert httpd.seen[0]["length"] == "8" and not httpd.seen[0]["chunked"]


def test_nothing_is_sent_after_a_request_went_unanswered_in_time(serving):
    server, httpd = serving
    server.unanswered = (invocation(b"", "first"), "no complete answer within 30 s")
    with pytest.raises(exchange.DeadlineExceeded, match="not sent: first"):
        batch.send(server, invocation(b"1,2,3,4\n", "p", extra_headers=CHUNKED))
    assert httpd.seen == []


DATA = b"".join(b"%d,1.5,2.5,3.5,4.5\n" % (n % 3) for n in range(1000))


@pytest.mark.parametrize(("limit", "chunked"), [(0, True), (6, False)])
def test_a_transform_sends_its_payloads_chunked_exactly_under_max_payload_0(serving, limit, chunked):
    server, httpd = serving
    result = transform(server, Job(input_filter="$[1:]"), DATA, {**UNLIMITED, "MaxPayloadInMB": limit})
    assert result.failures == [] and result.records_out == result.records_in == 1000
    assert [seen["chunked"] for seen in httpd.seen] == [chunked]  # 1000 records: one payload either way


def test_a_transform_under_max_payload_0_fails_on_a_server_that_needs_a_content_length(serving):
    server, httpd = serving
    httpd.mode = "needs-length"
    result = transform(server, Job(input_filter="$[1:]"), DATA, UNLIMITED)
    assert result.failures == ["payload 1: HTTP 411 b'a body needs a Content-Length\\n'"]


class Hosting:
    csv = DEFAULT_CSV

    def __init__(self):
        self.plan = Plan()  # each test's runs its own

    def require_csv(self):
        pass


def _judged(server, monkeypatch, answer=UNLIMITED):
    """BATCH-04 accepts-max-payload, on the run batch.max_payload sent to `server` as the default job resolved
    `answer`."""
    job = batch.DefaultJob(server, 200, b"{}", Transform(resolve(Job(), answer)))  # type: ignore[arg-type]
    monkeypatch.setattr(batch, "default_job", lambda hosting: job)
    context = Context(engine=None, image="algo:1", image_config={}, training=None,  # type: ignore[arg-type]
                      hosting=Hosting(), declaration=DEFAULTS)  # type: ignore[arg-type]
    return batch_checks.accepts_max_payload(context)


def test_max_payload_0_passes_batch_04_on_a_large_payload_sent_chunked_and_answered_in_full(serving, monkeypatch):
    server, httpd = serving
    summary = _judged(server, monkeypatch)
    (seen,) = httpd.seen
    assert seen["chunked"] and len(seen["body"]) > 6 * MIB  # over the default limit and InvokeEndpoint's
    rows = len(seen["body"].splitlines())
    assert re.fullmatch(rf"MaxPayloadInMB 0: HTTP 200 with {rows} output records for {rows} rows, "
                        rf"{len(seen['body'])} bytes sent chunked, in \d+\.\d\d s", summary), summary


@pytest.mark.parametrize(("mode", "observed"), [
    ("needs-length", r"^HTTP 411 for \d+ rows, \d+ bytes sent chunked; body b'a body needs a Content-Length\\n'$"),
    ("drops-a-row", r"^HTTP 200 with (\d+) output records for \d+ rows, \d+ bytes sent chunked$"),
])
def test_max_payload_0_fails_batch_04_on_a_refused_or_incomplete_chunked_payload(serving, monkeypatch, tmp_path,
                                                                                  mode, observed):
    server, httpd = serving
    httpd.mode = mode
    with pytest.raises(Failed, match=observed) as failed:
        _judged(server, monkeypatch)
    verdict = failed.value
    assert verdict.expected.startswith("MaxPayloadInMB 0 (no limit: payloads of any size sent with "
                                       "Transfer-Encoding: chunked): 2xx and one output record per row")
    assert verdict.run is server
    curl = verdict.request.curl(tmp_path)
    assert "-H 'Transfer-Encoding: chunked'" in curl and "--data-binary @" in curl
    assert (tmp_path / "batch-max-payload-chunked.payload").read_bytes() == httpd.seen[0]["body"]


def test_max_payload_0_fails_batch_04_when_the_server_drops_the_connection(monkeypatch):
    class Refusing(LoopbackServer):
        def exchange(self, method, path, *, deadline, **options):
            for _ in options["data"]:  # the body goes, then the connection is gone
                pass
            raise requests.ConnectionError("Connection reset by peer")

    with pytest.raises(Failed, match=r"^no answer to \d+ rows, \d+ bytes sent chunked: Connection reset by peer"):
        _judged(Refusing("http://127.0.0.1:9"), monkeypatch)
